"""docker-compose.yml, the Dockerfile and the README agree with pulse.settings and the CLI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from pulse.cli import cli
from pulse.settings import PROJECT_ROOT, VARIABLES, load

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
PULSE_SERVICES = [name for name, service in SERVICES.items() if "build" in service]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the "- KEY=value" form
        return dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _interpolate(value: str) -> str:
    """Compose's ${VAR:?message} / ${VAR:-default}, with a real secret for the one required variable."""

    def replace(match: re.Match[str]) -> str:
        name, operator, rest = match.group(1), match.group(2) or "", match.group(3) or ""
        if name == "PULSE_SECRET_KEY":
            return "compose-test-secret-key-0123456789abcdef"
        if operator == ":-":
            return rest
        raise AssertionError(f"docker-compose.yml needs ${name} from the environment: {value!r}")

    return re.sub(r"\$\{(\w+)(:[?-])?([^}]*)\}", replace, value)


@pytest.mark.parametrize(
    ("service", "image"),
    [("postgres", "postgres:16"), ("redis", "redis:7"), ("mailpit", "axllent/mailpit")],
)
def test_the_backing_services_use_the_expected_images(service: str, image: str) -> None:
    assert SERVICES[service]["image"].startswith(image)


@pytest.mark.parametrize("service", ["postgres", "redis", "mailpit", "web", "worker"])
def test_every_long_running_service_has_a_healthcheck(service: str) -> None:
    check = SERVICES[service]["healthcheck"]
    assert check["test"] and check["test"][0] in {"CMD", "CMD-SHELL"}
    assert check.get("interval") and check.get("retries")


def test_dependencies_wait_for_health_or_completion_of_existing_services() -> None:
    for name, service in SERVICES.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], f"{name} waits for {dependency}, which has no healthcheck"
    assert SERVICES["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert SERVICES["worker"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_every_pulse_variable_set_anywhere_is_a_known_setting() -> None:
    used = {key for service in SERVICES.values() for key in _environment(service) if key.startswith("PULSE_")}
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    used |= set(re.findall(r"\b(PULSE_[A-Z_]+)=", dockerfile))
    assert used, "docker-compose.yml sets no PULSE_* variable"
    assert used - set(VARIABLES) == set()


@pytest.mark.parametrize("service", PULSE_SERVICES)
def test_each_pulse_service_gets_valid_production_settings(service: str, tmp_path: Path) -> None:
    env = {key: _interpolate(value) for key, value in _environment(SERVICES[service]).items()}
    settings = load({**env, "PULSE_VAR_DIR": str(tmp_path)})
    assert settings.is_postgres and settings.redis_url and settings.smtp is not None
    assert settings.smtp.host == "mailpit" and not settings.embedded
    assert "postgres:5432" in settings.database_url and "redis:6379" in settings.redis_url


def _resolve(args: list[str]) -> tuple[click.Command, list[str]]:
    command: click.Command = cli
    rest = list(args)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        found = command.get_command(click.Context(command), rest[0])
        assert found is not None, f"pulse has no command {' '.join(args)!r}"
        command, rest = found, rest[1:]
    return command, rest


def test_every_pulse_command_in_the_compose_file_exists_with_its_options() -> None:
    commands = [service["command"] for service in SERVICES.values() if service.get("command", [""])[0] == "pulse"]
    commands += [
        service["healthcheck"]["test"][1:]
        for service in SERVICES.values()
        if "healthcheck" in service and service["healthcheck"]["test"][1:2] == ["pulse"]
    ]
    assert ["pulse", "db", "upgrade"] in commands
    for argv in commands:
        command, rest = _resolve(argv[1:])
        assert not isinstance(command, click.Group), f"{argv} names a group, not a command"
        known = {opt for param in command.params for opt in param.opts}
        for word in rest:
            if word.startswith("--"):
                assert word in known, f"{' '.join(argv)}: pulse has no option {word}"


def _readme_variables() -> set[str]:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `(PULSE_[A-Z_]+)` \|", readme, flags=re.MULTILINE))


def test_the_readme_configuration_table_lists_exactly_the_known_variables() -> None:
    assert _readme_variables() == set(VARIABLES)


def _readme_commands() -> set[tuple[str, ...]]:
    """Command paths in the README's command-line block; ``pause|resume|remove`` counts for each."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## The command line", 1)[1].split("```", 2)[1]
    paths: set[tuple[str, ...]] = set()
    for line in block.splitlines():
        words = line.split()
        if not words or words[0] != "pulse":
            continue
        path: list[str] = []
        for word in words[1:]:
            if not re.fullmatch(r"[a-z][a-z-]*(\|[a-z][a-z-]*)*", word):
                break
            path.append(word)
        if path:
            for last in path[-1].split("|"):
                paths.add((*path[:-1], last))
    return paths


def test_the_readme_lists_every_command() -> None:
    commands: set[tuple[str, ...]] = set()

    def walk(group: click.Group, prefix: tuple[str, ...]) -> None:
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                walk(command, (*prefix, name))
            else:
                commands.add((*prefix, name))

    walk(cli, ())
    assert {" ".join(path) for path in commands - _readme_commands()} == set()


def test_the_web_service_trusts_forwarded_headers_only_from_its_own_network_not_its_gateway(tmp_path: Path) -> None:
    import ipaddress

    (config,) = COMPOSE["networks"]["default"]["ipam"]["config"]
    subnet, containers = ipaddress.ip_network(config["subnet"]), ipaddress.ip_network(config["ip_range"])
    env = {key: _interpolate(value) for key, value in _environment(SERVICES["web"]).items()}
    trusted = [ipaddress.ip_network(n) for n in load({**env, "PULSE_VAR_DIR": str(tmp_path)}).trusted_proxies]
    assert trusted and all(network.subnet_of(containers) and containers.subnet_of(subnet) for network in trusted)  # type: ignore[arg-type]
    assert not any(ipaddress.ip_address(config["gateway"]) in network for network in trusted)
