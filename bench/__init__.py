"""closeloop's benchmark: `python -m bench` (or `make bench`) prints, in one run,

1. cold start of a fresh process serving its first one-click GET, against a minimal Chalice app,
   with and without cached bytecode;
2. DynamoDB requests per recorded response (first and changed);
3. responses recorded per second through the Lambda handler, against a bare one-PutItem handler;
4. what a report costs (time, requests, items, read units) at 1,000 and 100,000 responses over 90 days;
5. the send rate of a burst of accepted interactions (bench/send_rate.py).

Everything runs against DynamoDB Local (started here, stopped at the end). Figures are printed,
never asserted: machines differ, and a benchmark that fails on a slow day teaches nothing.
"""
