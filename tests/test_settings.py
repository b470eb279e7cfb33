"""Settings: read from the environment, validated, and documented in README.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from imgorigin.settings import Settings, documented_settings, settings_markdown

README = Path(__file__).resolve().parent.parent / "README.md"
# Variables the test suite reads, documented in the README's testing section.
TEST_VARIABLES = {
    "IMGORIGIN_TEST_DATABASE_URL",
    "IMGORIGIN_TEST_REDIS_URL",
    "IMGORIGIN_REQUIRE_SERVICES",
}


def test_readme_settings_table_is_the_generated_one() -> None:
    text = README.read_text()
    block = text.split("<!-- settings:start -->\n", 1)[1].split("<!-- settings:end -->", 1)[0]
    assert block == settings_markdown(), "run `make docs` to rewrite the table"


def test_readme_names_no_setting_that_does_not_exist() -> None:
    mentioned = set(re.findall(r"IMGORIGIN_[A-Z0-9_]+", README.read_text()))
    known = {env for env, _, _ in documented_settings()} | TEST_VARIABLES
    assert mentioned - known == set()


def test_every_setting_has_help_text() -> None:
    for env, _, text in documented_settings():
        assert env.startswith("IMGORIGIN_") and len(text) > 10, env


def test_from_env_reads_and_converts() -> None:
    settings = Settings.from_env(
        {
            "IMGORIGIN_ORIGIN_PORT": "9000",
            "IMGORIGIN_DB_TIMEOUT": "2.5",
            "IMGORIGIN_DATA_DIR": "/srv/img",
            "IMGORIGIN_HOST": "0.0.0.0",
        }
    )
    assert settings.server.origin_port == 9000
    assert settings.catalog.timeout == 2.5
    assert settings.server.data_dir == Path("/srv/img")
    assert settings.public_url == "http://0.0.0.0:9000"


@pytest.mark.parametrize(
    "env",
    [
        {"IMGORIGIN_ORIGIN_PORT": "80a"},
        {"IMGORIGIN_ORIGIN_PORT": "70000"},
        {"IMGORIGIN_DB_POOL_SIZE": "0"},
        {"IMGORIGIN_DB_TIMEOUT": "fast"},
        {"IMGORIGIN_DATABASE_URL": "mysql://x"},
        {"IMGORIGIN_STORAGE_URL": "ftp://x"},
        {"IMGORIGIN_PUBLIC_URL": "img.example.com"},
        {"IMGORIGIN_LOG_LEVEL": "LOUD"},
        {"IMGORIGIN_RENDER_QUEUE": "-1"},
        {"IMGORIGIN_RENDER_LEASE": "0"},
        {"IMGORIGIN_WORKERS": "-1"},
        {"IMGORIGIN_WORKERS": "257"},
        {"IMGORIGIN_S3_MAX_ATTEMPTS": "0"},
        {"IMGORIGIN_REDIS_URL": "http://x"},
    ],
)
def test_bad_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Settings.from_env(env)


def test_command_line_ports_reach_the_derived_public_url() -> None:
    from imgorigin.cli import parser, settings_from

    args = parser().parse_args(["serve", "--origin-port", "9000", "--host", "0.0.0.0"])
    assert settings_from(args).public_url == "http://0.0.0.0:9000"


def test_an_explicit_public_url_wins() -> None:
    settings = Settings.from_env(
        {"IMGORIGIN_PUBLIC_URL": "https://img.example.com", "IMGORIGIN_ORIGIN_PORT": "9000"}
    )
    assert settings.public_url == "https://img.example.com"


def test_readme_runs_the_images_docker_compose_runs() -> None:
    # MinIO's images left Docker Hub: the README's example must not pull what is gone.
    compose = (README.parent / "docker-compose.yml").read_text()
    compose_minio = set(re.findall(r"image: (\S*minio/minio:\S+)", compose))
    readme_minio = set(re.findall(r"docker run .*?(\S*minio/minio\S*) server", README.read_text()))
    assert len(compose_minio) == 1 and readme_minio == compose_minio


def test_readme_says_what_make_test_installs() -> None:
    makefile = (README.parent / "Makefile").read_text()
    text = README.read_text()
    for tool, installed_by in (("nginx", "install-debian.sh"), ("unpic", "npm install")):
        # The Makefile installs it, and the README says so.
        assert installed_by in makefile, tool
        assert re.search(rf"`make test` also installs[^.]*{tool}", text, re.S), tool
    assert "\nopen '" not in text  # macOS only; the README gives a portable way
