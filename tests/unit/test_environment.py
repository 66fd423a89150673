"""Reading the site's settings from the environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from seqcol_site import environment

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_run_on_one_machine_with_sqlite():
    values = environment.read({})
    assert values["DJANGO_DEBUG"] is False
    assert values["DATABASE_URL"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["DATABASE_URL"]["NAME"] == str(ROOT / "var" / "db.sqlite3")


def test_postgres_url_becomes_a_database_entry():
    values = environment.read(
        {"DATABASE_URL": "postgres://me:p%40ss@db.local:6543/reg"}
    )
    assert values["DATABASE_URL"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "reg",
        "USER": "me",
        "PASSWORD": "p@ss",
        "HOST": "db.local",
        "PORT": "6543",
    }


def test_absolute_sqlite_path_is_kept():
    values = environment.read({"DATABASE_URL": "sqlite:////tmp/x.sqlite3"})
    assert values["DATABASE_URL"]["NAME"] == "/tmp/x.sqlite3"


@pytest.mark.parametrize(
    ("name", "text"), [("DJANGO_DEBUG", "maybe"), ("DATABASE_URL", "mysql://x/y")]
)
def test_bad_values_name_their_variable(name, text):
    with pytest.raises(ImproperlyConfigured, match=name):
        environment.read({name: text})


def run_manage(*arguments, **variables):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(variables)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *arguments],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )


def test_site_passes_djangos_system_checks():
    result = run_manage("check", DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_without_a_secret_key_is_refused_by_name():
    result = run_manage("check", DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"BACKEND": "lambda", "LAMBDA_FUNCTION": ""}, "FASTA_DRS_LAMBDA_FUNCTION"),
        ({"OUTPUT": "/tmp/fasta"}, "FASTA_DRS_OUTPUT"),
        ({"STORE": "ftp://host/store"}, "FASTA_DRS_STORE"),
        ({"URL_TTL_SECONDS": 0}, "FASTA_DRS_URL_TTL_SECONDS"),
        ({"MAX_ATTEMPTS": 0}, "FASTA_DRS_MAX_ATTEMPTS"),
    ],
)
def test_system_checks_name_the_variable_at_fault(settings, override, variable):
    from fasta_drs.checks import check_fasta_drs_settings

    settings.FASTA_DRS = {**settings.FASTA_DRS, **override}
    errors = check_fasta_drs_settings(None)
    assert errors
    assert any(variable in f"{error.msg} {error.hint}" for error in errors)


def test_default_settings_pass_the_system_checks(settings):
    from fasta_drs.checks import check_fasta_drs_settings

    assert check_fasta_drs_settings(None) == []
