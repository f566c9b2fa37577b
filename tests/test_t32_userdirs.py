"""drp's user folders without platformdirs (drp_cli.core.userdirs) are platformdirs' own."""

from __future__ import annotations

import subprocess
import sys

import platformdirs
import pytest

from drp_cli.core import config
from drp_cli.core.userdirs import user_dir

KINDS = {
    "config": platformdirs.user_config_dir,
    "cache": platformdirs.user_cache_dir,
    "data": platformdirs.user_data_dir,
}
XDG = ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize(
    ("xdg", "home"),
    [
        (None, "/home/iro"),  # the usual case: no XDG variable
        ("/srv/xdg", "/home/iro"),  # an absolute XDG variable wins
        ("", "/home/iro"),  # empty: the home's folder
        ("   ", "/home/iro"),  # blank: not absolute, the home's folder
        ("relative/xdg", "/home/iro"),  # relative: ignored, as the XDG rules say
        ("/srv/xdg/", "/home/iro/"),  # trailing slashes
        (None, "/"),
        (None, "relative-home"),  # platformdirs' own answer (the password database's home)
        (None, None),
    ],
)
def test_user_dir_is_platformdirs_answer(
    monkeypatch: pytest.MonkeyPatch, kind: str, xdg: str | None, home: str | None
) -> None:
    for name in XDG:
        monkeypatch.delenv(name, raising=False)
    if xdg is not None:
        for name in XDG:
            monkeypatch.setenv(name, xdg)
    if home is None:
        monkeypatch.delenv("HOME", raising=False)
    else:
        monkeypatch.setenv("HOME", home)
    try:
        expected = KINDS[kind]("drp")
    except RuntimeError:  # no home platformdirs can find: drp says the same
        with pytest.raises(RuntimeError):
            user_dir(kind)
        return
    assert str(user_dir(kind)) == str(expected)


def test_config_path_is_in_the_config_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRP_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/srv/conf")
    assert str(config.path()) == f"{platformdirs.user_config_dir('drp')}/config.toml"
    assert str(config.path()) == "/srv/conf/drp/config.toml"


@pytest.mark.skipif(sys.platform != "linux", reason="elsewhere platformdirs answers")
def test_reading_the_config_does_not_import_platformdirs() -> None:
    code = (
        "import sys; from drp_cli.core import config; config.load(); "
        "print('platformdirs' in sys.modules)"
    )
    env_home = {"HOME": "/nonexistent-t32-home", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env_home, capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert out.stdout.strip() == "False"
