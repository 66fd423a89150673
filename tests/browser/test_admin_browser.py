"""The admin in a real headless Chromium, driven as an operator would.

Needs Debian's chromium and chromium-driver (``.ci/run`` installs them).
Screenshots of the list and of a detail page go to ``tests/artifacts/``.
"""

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from fasta_drs import admin as fasta_admin
from fasta_drs.models import FastaRequest
from tests.integration.test_drs_api import BASE, run_worker, site

pytestmark = [pytest.mark.django_db(transaction=True)]
__all__ = ["site"]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    if os.environ.get("CI"):
        raise RuntimeError(
            "CI must have chromium and chromium-driver; .ci/run installs them"
        )
    pytest.skip(
        "chromium and chromium-driver are not installed", allow_module_level=True
    )

from selenium import webdriver  # noqa: E402  (only once Chromium is known to exist)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="chromium-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1600,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def put_status(s3_client, bucket, digest, fraction, started):
    status = {
        "state": "running",
        "started_time": started.isoformat(),
        "updated_time": timezone.now().isoformat(),
        "progress": {"fraction": fraction},
    }
    s3_client.put_object(
        Bucket=bucket, Key=f"fasta/{digest}.status.json", Body=json.dumps(status)
    )


def choose_action(browser, digest, action):
    row = browser.find_element(By.XPATH, f"//tr[.//code[text()='{digest}']]")
    row.find_element(By.CSS_SELECTOR, "input.action-select").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value(action)
    browser.find_element(By.NAME, "index").click()


def test_operator_watches_retries_and_invalidates(
    browser, live_server, site, s3_client, monkeypatch
):
    monkeypatch.setattr(fasta_admin, "get_dispatcher", lambda: site["dispatcher"])
    User.objects.create_superuser("operator", "operator@example.org", "a-long-password")
    client_base = live_server.url

    # A ready object, a running one and a failed one.
    from django.test import Client

    api = Client()
    ready = site["good"]
    api.get(f"{BASE}/objects/{ready}")
    run_worker(site["dispatcher"])
    api.get(f"{BASE}/objects/{ready}")
    started = timezone.now()
    running = FastaRequest.objects.create(
        collection_digest="R" * 32, state="running", attempts=1, dispatched_at=started
    )
    put_status(s3_client, site["bucket"], running.collection_digest, 0.2, started)
    FastaRequest.objects.create(
        collection_digest=site["broken"],
        state="failed",
        attempts=3,
        error_code="verification_failed",
        error_message="Sequence 'bad' decoded to bases whose digest differs",
    )

    browser.get(f"{client_base}/admin/login/?next=/admin/fasta_drs/fastarequest/")
    browser.find_element(By.NAME, "username").send_keys("operator")
    browser.find_element(By.NAME, "password").send_keys("a-long-password")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "span.state-badge"))
    states = {
        badge.text
        for badge in browser.find_elements(By.CSS_SELECTOR, "span.state-badge")
    }
    assert states == {"ready", "running", "failed"}

    # Progress moves without a reload, as the status object in S3 changes.
    def progress_is(value):
        def check(driver):
            bar = driver.find_element(By.CSS_SELECTOR, "progress.generation")
            return abs(float(bar.get_attribute("value")) - value) < 1e-6

        return check

    wait.until(progress_is(0.2))
    put_status(s3_client, site["bucket"], running.collection_digest, 0.6, started)
    wait.until(progress_is(0.6))
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "admin-list.png"))

    # Retry the failed one.
    choose_action(browser, site["broken"], "retry_selected")
    wait.until(lambda b: "Started 1 new attempt" in b.page_source)
    assert len(site["dispatcher"].events) == 1

    # Invalidate the ready one, after confirming.
    choose_action(browser, ready, "invalidate_selected")
    wait.until(lambda b: "Are you sure you want to invalidate" in b.page_source)
    browser.find_element(By.CSS_SELECTOR, "input[value='Yes, invalidate']").click()
    wait.until(lambda b: "Invalidated 1 object" in b.page_source)
    assert FastaRequest.objects.get(collection_digest=ready).state == "queued"

    # The detail page of an object, ready again.
    run_worker(site["dispatcher"])
    api.get(f"{BASE}/objects/{ready}")
    for _ in range(3):
        if FastaRequest.objects.get(collection_digest=ready).state == "ready":
            break
        run_worker(site["dispatcher"])
        api.get(f"{BASE}/objects/{ready}")
        time.sleep(0.2)
    row = FastaRequest.objects.get(collection_digest=ready)
    browser.get(f"{client_base}/admin/fasta_drs/fastarequest/{row.pk}/change/")
    wait.until(lambda b: "manifest" in b.page_source.lower())
    assert row.sha256 in browser.page_source
    browser.save_screenshot(str(ARTIFACTS / "admin-detail.png"))
