"""The configuration files docs/deploy.md installs are the ones shipped under deploy/, and work."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import click
import pytest

from portal.cli import candor

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
GUIDE = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def shipped() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.is_file())


def test_the_guide_names_every_shipped_file_and_the_readme_links_it() -> None:
    assert len(shipped()) == 6
    for path in shipped():
        assert f"`{path.relative_to(ROOT)}`" in GUIDE, path
    assert "`gunicorn.conf.py`" in GUIDE and (ROOT / "gunicorn.conf.py").is_file()
    assert "(docs/deploy.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def unit(name: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / name).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def test_the_units_run_the_shipped_gunicorn_configuration_and_the_clock_command() -> None:
    web = unit("candor-web@.service")
    assert web["ExecStart"] == ["/opt/candor/.venv/bin/gunicorn --config gunicorn.conf.py wsgi:app"]
    assert "CANDOR_BIND=127.0.0.1:%i" in web["Environment"]
    clock = unit("candor-clock@.service")
    command = clock["ExecStart"][0].split()
    assert command[:3] == ["/opt/candor/.venv/bin/flask", "--app", "wsgi"]
    # The clock unit's command is one the CLI has.
    context = click.Context(candor)
    group = candor.get_command(context, command[4])
    assert command[3] == "candor" and isinstance(group, click.Group)
    assert group.get_command(context, command[5]) is not None
    for settings in (web, clock):
        assert settings["User"] == ["candor"]
        assert settings["WorkingDirectory"] == ["/opt/candor"]
        assert "CANDOR_CONFIG=/etc/candor/candor.toml" in settings["Environment"]
        assert "ExecStartPre" not in settings  # migrations run once, not per instance


def test_the_onion_service_reaches_the_proxy_and_no_access_log_is_kept() -> None:
    torrc = (DEPLOY / "tor" / "torrc").read_text(encoding="utf-8")
    target = re.search(r"^HiddenServicePort 80 (\S+)$", torrc, re.MULTILINE)
    nginx = (DEPLOY / "nginx" / "candor.conf").read_text(encoding="utf-8")
    assert target and f"listen {target.group(1)};" in nginx
    proxy = (DEPLOY / "nginx" / "candor-proxy.conf").read_text(encoding="utf-8")
    assert "access_log off;" in proxy
    assert nginx.count("include /etc/nginx/snippets/candor-proxy.conf;") == 2
    assert 'proxy_set_header X-Forwarded-For "";' in proxy


def test_nginx_accepts_the_shipped_configuration(tmp_path: Path) -> None:
    """`nginx -t` on the two shipped files, a throwaway certificate in place of the real one."""
    nginx, openssl = shutil.which("nginx"), shutil.which("openssl")
    if nginx is None or openssl is None:
        pytest.skip("nginx and openssl (Debian packages) are needed to check the nginx files")
    key, cert = str(tmp_path / "key.pem"), str(tmp_path / "cert.pem")
    request = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    subject = ["-days", "1", "-subj", "/CN=whistleblowing.example.org"]
    subprocess.run(  # noqa: S603  # the system's openssl, our own arguments
        [openssl, *request, *subject, "-keyout", key, "-out", cert],
        check=True,
        capture_output=True,
    )
    site = (DEPLOY / "nginx" / "candor.conf").read_text(encoding="utf-8")
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)
    site = site.replace(
        "/etc/nginx/snippets/candor-proxy.conf", str(DEPLOY / "nginx" / "candor-proxy.conf")
    )
    (tmp_path / "candor.conf").write_text(site, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"error_log {tmp_path / 'error.log'};\npid {tmp_path / 'nginx.pid'};\n"
        f"events {{}}\nhttp {{\n    access_log off;\n    include {tmp_path / 'candor.conf'};\n}}\n",
        encoding="utf-8",
    )
    result = subprocess.run(  # noqa: S603  # the system's nginx, our own arguments
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def planned(target: str) -> str:
    """What `make TARGET` would run from scratch (-B: as if nothing were built; -n: not run)."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is needed to read the Makefile's plan")
    result = subprocess.run(  # noqa: S603  # the system's make, our own arguments
        [make, "-n", "-B", "-C", str(ROOT), target], capture_output=True, text=True, check=True
    )
    return result.stdout


def test_a_server_installs_the_site_alone_and_the_tools_come_with_the_tests() -> None:
    # `make run` (and `make translations`, which docs/deploy.md uses) install `pip install -e .`
    # only: the test, lint and benchmark tools are about half of the environment's size.
    for target in ("run", "translations"):
        plan = planned(target)
        assert "pip install --quiet -e .\n" in plan, plan
        assert ".[dev]" not in plan, plan
    for target in ("test", "lint", "bench"):
        assert "pip install --quiet -e '.[dev]'" in planned(target)
