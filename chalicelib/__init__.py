"""closeloop: survey customers after a support interaction and follow up with the unhappy ones."""
