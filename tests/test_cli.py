"""`python -m bot kb …` as a content editor uses it."""

import pytest

from tests.conftest import edit_yaml
from tests.support import cli


def test_validate_real_content():
    result = cli("kb", "validate")
    assert result.returncode == 0 and "Indholdet er gyldigt." in result.stdout


@pytest.mark.slow
def test_build_search_and_show(tmp_path):
    env = {"KB_DATABASE_URL": f"sqlite:///{tmp_path / 'kb.sqlite'}", "FORLOB_VAR_DIR": str(tmp_path)}
    built = cli("kb", "build", env_extra=env)
    assert built.returncode == 0 and "Vidensbasen er bygget" in built.stdout
    assert (tmp_path / "kb.version").read_text().strip() in built.stdout
    search = cli("kb", "search", "hvordan klager jeg over kommunens afgørelse", env_extra=env)
    assert search.returncode == 0 and search.stdout.splitlines()[0].startswith("klage  Klage")
    show = cli("kb", "show", "viso", env_extra=env)
    assert '"phone": "72 42 40 00"' in show.stdout
    missing = cli("kb", "show", "findes-ikke", env_extra=env)
    assert missing.returncode == 1 and "Ukendt id" in missing.stderr


@pytest.mark.slow
def test_build_with_broken_content_fails_clearly_and_keeps_the_old_database(tmp_path, content_copy):
    env = {
        "KB_DATABASE_URL": f"sqlite:///{tmp_path / 'kb.sqlite'}",
        "FORLOB_VAR_DIR": str(tmp_path),
        "KB_CONTENT_DIR": str(content_copy),
    }
    assert cli("kb", "build", env_extra=env).returncode == 0
    edit_yaml(content_copy / "topics" / "klage.yml", lambda d: d["organisations"].append("ukendt-org"))
    result = cli("kb", "build", env_extra=env)
    assert result.returncode == 1
    assert "IKKE bygget" in result.stderr and "topics/klage.yml: klage: organisations" in result.stderr
    assert "klage" in cli("kb", "search", "klage", env_extra=env).stdout


def test_search_without_a_database_says_what_to_do(tmp_path):
    result = cli(
        "kb", "search", "klage", env_extra={"KB_DATABASE_URL": f"sqlite:///{tmp_path / 'no.sqlite'}"}
    )
    assert result.returncode == 1 and "make kb" in result.stderr


def test_privacy_purge_and_forget(tmp_path):
    from tests.support import fill, rows

    url = f"sqlite:///{tmp_path / 'tracker.sqlite'}"
    fill(url, {"gammel": 40, "ny": 1, "anden": 1})
    env = {"TRACKER_STORE_URL": url}
    bad = cli("privacy", "purge", "--older-than", "tredive dage", env_extra=env)
    assert bad.returncode == 1 and "Ugyldig varighed" in bad.stderr
    assert set(rows(url)) == {"gammel", "ny", "anden"}
    purged = cli("privacy", "purge", env_extra=env)  # default 30 days from deployment.yml
    assert purged.returncode == 0 and "30d" in purged.stdout
    assert set(rows(url)) == {"ny", "anden"}
    assert cli("privacy", "forget", "ny", env_extra=env).returncode == 0
    unknown = cli("privacy", "forget", "findes-ikke", env_extra=env)
    assert unknown.returncode == 1 and "Ingen samtale" in unknown.stderr
    assert set(rows(url)) == {"anden"}
