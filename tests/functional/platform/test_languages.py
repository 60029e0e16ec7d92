"""Languages end to end: emails, SMS, pages and SMS replies speak the customer's language, with
fallback pt-BR → pt → the stage's default language → English; unknown locales never fail."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from chalicelib.delivery import sms
from chalicelib.platform.clock import parse_iso
from tests.conftest import reset_caches
from tests.functional.contacts.test_sms_replies import sms_in, texts_to
from tests.functional.helpers import (
    BROWSER, PHONE, choose_path, interaction, links_in, open_page, path_of, post, score_links, send_sms_survey,
    submit_form, survey,
)


def customer(locale, **more) -> dict:
    return {"id": "cus_19", "email": "ada@example.com", "phone": PHONE, "name": "Ada Lovelace",
            "locale": locale, **more}


def sent_email(api, stack, locale, **overrides):
    response = post(api, interaction(customer=customer(locale), **overrides))
    assert response.status_code == 202, response.body
    survey_id = json.loads(response.body)["survey_id"]
    stack.run_jobs()
    (mail,) = [m for m in stack.emails() if m.message["X-Closeloop-Survey"] == survey_id]
    return survey_id, mail


@pytest.fixture
def default_german(stack, monkeypatch):
    from chalicelib.platform.settings import get_settings

    monkeypatch.setenv("CLOSELOOP_DEFAULT_LANGUAGE", "de")
    reset_caches()
    get_settings()  # read now: chalice's test client would otherwise apply config.json's variables
    return stack


def test_a_spanish_customer_gets_the_whole_email_in_spanish(api, stack):
    _, mail = sent_email(api, stack, "es-MX")
    text, html = mail.part("plain"), mail.part("html")
    assert mail.message["Content-Language"] == "es"
    assert mail.subject == "Ada, ¿qué tal lo hicimos? Valore la atención de closeloop"
    assert text.startswith("Hola, Ada:")
    assert "Gracias por contactar con" in text and "Sam le atendió." in text
    assert "¿Cuál es su grado de satisfacción con la ayuda recibida?" in text
    assert set(score_links(text)) == {1, 2, 3, 4, 5}                      # the score lines still read as such
    assert re.search(r"^1 - Muy insatisfecho: http", text, re.M) and re.search(r"^5 - Muy satisfecho: ", text, re.M)
    assert "Darse de baja de las encuestas de" in text
    assert '<html lang="es">' in html and "Basta con un clic." in html and ">Darse de baja</a>" in html
    assert "Thanks for contacting" not in text + html and "How" not in mail.subject


def test_pt_br_falls_back_to_portuguese_for_the_sms_and_its_pages(api, stack):
    survey_id, path = send_sms_survey(api, stack, survey="nps", customer=customer("pt-BR"))
    (text,) = texts_to(stack)
    assert text.startswith("Ola Ada, obrigado por contatar a ")                # accents GSM-7 lacks are dropped
    assert sms.septets(text) is not None and sms.septets(text) <= sms.SEGMENT_SEPTETS and len(links_in(text)) == 1

    page = open_page(api, path)
    body = page.body.decode()
    assert page.status_code == 200 and page.headers["Content-Language"] == "pt"
    assert '<html lang="pt">' in body and "Olá, Ada, como foi o nosso atendimento?" in body
    assert "Qual é a probabilidade de você recomendar a " in body and "0: Nada provável" in body

    landing = open_page(api, path + "/9").body.decode()
    assert "Você escolheu" in landing and json.dumps("Guardando a sua resposta…") in landing  # the script's text
    thanks = submit_form(api, choose_path(path), {"score": 9, "comment": "ótimo"})
    assert thanks.status_code == 200 and "Obrigado pela sua opinião!" in thanks.body.decode()
    assert survey(api, survey_id)["score"] == 9


def test_an_unknown_locale_gets_the_stage_default_language(api, default_german):
    _, mail = sent_email(api, default_german, "ja-JP")
    assert mail.message["Content-Language"] == "de"
    assert mail.part("plain").startswith("Hallo Ada,") and "Wie zufrieden sind Sie" in mail.part("plain")


def test_no_locale_gets_the_stage_default_language_too(api, default_german):
    body = interaction()
    del body["customer"]["locale"]
    response = post(api, body)
    assert response.status_code == 202, response.body
    default_german.run_jobs()
    (mail,) = default_german.emails()
    assert mail.message["Content-Language"] == "de"


def test_a_locale_we_have_wins_over_the_stage_default(api, default_german):
    _, mail = sent_email(api, default_german, "fr")
    assert mail.message["Content-Language"] == "fr" and "Bonjour Ada," in mail.part("plain")


def test_an_expired_survey_page_is_in_the_customers_language(api, stack, clock):
    survey_id, mail = sent_email(api, stack, "fr-CA")
    path = path_of(score_links(mail.part("plain"))[4])
    clock.set(parse_iso(survey(api, survey_id)["expires_at"]) + timedelta(seconds=1))
    page = open_page(api, path)
    assert page.status_code == 410 and "Cette enquête est terminée" in page.body.decode()


def test_the_unsubscribe_page_is_in_the_customers_language(api, stack):
    _, mail = sent_email(api, stack, "de")
    path = path_of(re.fullmatch(r"<([^>]+)>", str(mail.message["List-Unsubscribe"])).group(1))
    page = api.http.get(path, headers={"User-Agent": BROWSER})
    assert page.status_code == 200 and "abmelden?" in page.body.decode()
    done = api.http.post(path, headers={"Content-Type": "application/x-www-form-urlencoded"},
                         body="List-Unsubscribe=One-Click")
    assert done.status_code == 200 and "Sie sind abgemeldet" in done.body.decode()


@pytest.mark.parametrize("accept,heading", [
    ("fr-FR,fr;q=0.9,en;q=0.8", "Nous n'avons pas trouvé cette enquête"),
    ("ja,es;q=0.5", "No hemos encontrado esta encuesta"),
    ("", "We couldn't find this survey"),
])
def test_a_broken_link_answers_in_the_browsers_language(api, stack, accept, heading):
    page = api.http.get("/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/3", headers={"User-Agent": BROWSER, "Accept-Language": accept})
    assert page.status_code == 404 and heading in page.body.decode()


def test_an_out_of_scale_score_is_explained_in_the_customers_language(api, stack):
    _, mail = sent_email(api, stack, "es")
    path = path_of(score_links(mail.part("plain"))[4])
    page = submit_form(api, choose_path(path), {"score": 9})
    assert page.status_code == 400 and "Las puntuaciones de esta encuesta van de 1 a 5." in page.body.decode()


def test_sms_replies_answer_in_the_language_of_the_numbers_survey(api, stack):
    survey_id, _ = send_sms_survey(api, stack, survey="nps", customer=customer("es"))
    sms_in(api, "¡nueve!")
    assert survey(api, survey_id)["score"] == 9
    assert "Hemos registrado su puntuacion de 9" in texts_to(stack)[-1]  # ó is not GSM-7
    sms_in(api, "STOP")
    confirmation = texts_to(stack)[-1]
    assert "No recibira mas mensajes de encuestas" in confirmation and "START" in confirmation


def test_a_number_we_never_surveyed_is_answered_in_the_stage_default_language(api, default_german):
    sms_in(api, "HELP", sender="+14155550999")
    (answer,) = texts_to(default_german, "+14155550999")
    assert "SMS-Kundenumfragen" in answer and "STOP" in answer
