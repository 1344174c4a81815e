"""getBackendURI(): the config file contract, good files and bad ones."""

import pytest
from flask import Config

from shop_frontend import create_app, settings
from shop_frontend.backend_config import DEFAULT_BACKEND_URI, ConfigError, load_backend_uri
from tests.support.stub_backend import Answer, StubBackend

ITEM = {"id": 1, "name": "Apple", "price": 0.5, "count": 33}


def test_without_a_config_file_the_backend_is_localhost_8082(tmp_path):
    assert load_backend_uri(str(tmp_path / "absent.cfg")) == DEFAULT_BACKEND_URI == "http://localhost:8082"


def test_without_a_config_file_the_page_asks_localhost_8082(client, config_path, frontend_log):
    config_path.unlink()
    client.get("/")
    assert "http://localhost:8082" in frontend_log()[0]  # whatever answers there, that is where it asked


def test_the_config_file_names_the_backend(write_config):
    path = write_config('BACKEND_URI="http://python-shop-backend-service:8080"\n')
    assert load_backend_uri(str(path)) == "http://python-shop-backend-service:8080"


def test_a_changed_file_takes_effect_on_the_next_request(client, answer, write_config):
    answer(Answer.json([ITEM]))
    assert "Apple" in client.get("/").get_data(as_text=True)
    with StubBackend() as second:
        second.answer = Answer.json([{**ITEM, "name": "Quince"}])
        write_config(f'BACKEND_URI = "{second.uri}"')
        html = client.get("/").get_data(as_text=True)
    assert "Quince" in html and "Apple" not in html


def kubelet_volume(directory, text: str, generation: str):
    """Lay out config.cfg as the kubelet does: config.cfg -> ..data/config.cfg, ..data -> ..<generation>;
    an update writes a new generation and swaps the ..data symlink atomically."""
    (directory / generation).mkdir(parents=True)
    (directory / generation / "config.cfg").write_text(text)
    swap = directory / "..data_tmp"
    swap.symlink_to(generation)
    swap.replace(directory / "..data")
    if not (directory / "config.cfg").is_symlink():
        (directory / "config.cfg").symlink_to("..data/config.cfg")
    return directory / "config.cfg"


def test_a_swapped_symlink_takes_effect_on_the_next_request(tmp_path, stub_backend):
    path = kubelet_volume(tmp_path / "config", f'BACKEND_URI = "{stub_backend.uri}"\n', "..2026_11_27_01")
    stub_backend.answer = Answer.json([ITEM])
    client = create_app({"SHOP_CONFIG_PATH": str(path)}).test_client()
    assert "Apple" in client.get("/").get_data(as_text=True)
    with StubBackend() as second:
        second.answer = Answer.json([{**ITEM, "name": "Quince"}])
        kubelet_volume(tmp_path / "config", f'BACKEND_URI = "{second.uri}"\n', "..2026_11_27_02")
        html = client.get("/").get_data(as_text=True)
    assert "Quince" in html and "Apple" not in html


def test_a_file_removed_after_use_falls_back_on_the_next_request(client, answer, config_path, frontend_log):
    answer(Answer.json([ITEM]))
    assert client.get("/").status_code == 200
    config_path.unlink()
    client.get("/")
    assert "http://localhost:8082" in frontend_log()[-1]


def test_a_file_broken_after_a_good_one_is_an_error_on_the_next_request(client, answer, write_config):
    answer(Answer.json([ITEM]))
    assert client.get("/").status_code == 200
    write_config('BACKEND_URI = "http://x:8080')
    response = client.get("/")
    assert response.status_code == 500
    assert "syntax error on line 1" in response.get_data(as_text=True)
    assert client.get("/").status_code == 500  # and stays one while the file is broken


@pytest.mark.parametrize("broken", ['BACKEND_URI = "http://x:8080', "OTHER = 1\n", 'BACKEND_URI = "ftp://x"\n'],
                         ids=["syntax", "no-key", "bad-scheme"])
def test_fixing_a_broken_file_brings_the_page_back_without_a_restart(client, answer, write_config, stub_backend, broken):
    # The same app, never restarted: the 500 of a broken ConfigMap lasts until the file is fixed, no longer.
    answer(Answer.json([ITEM]))
    write_config(broken)
    assert client.get("/").status_code == 500
    write_config(f'BACKEND_URI = "{stub_backend.uri}"\n')
    response = client.get("/")
    assert response.status_code == 200
    assert "<td>Apple</td>" in response.get_data(as_text=True)


def test_a_file_fixed_within_the_same_second_and_size_is_still_seen(client, answer, write_config, stub_backend):
    # A fix of the same length written at once (same size, maybe the same mtime on a coarse clock):
    # the new file (new inode, as the kubelet and write_config make it) is what tells them apart.
    answer(Answer.json([ITEM]))
    good = f'BACKEND_URI = "{stub_backend.uri}"\n'
    write_config(good.replace("http", "htxp"))
    assert client.get("/").status_code == 500
    write_config(good)
    assert client.get("/").status_code == 200


def test_an_unchanged_file_is_compiled_once(client, answer, write_config, stub_backend, monkeypatch):
    compiled = []
    original = Config.from_pyfile

    def counted(self, path, **kw):
        compiled.append(path)
        return original(self, path, **kw)
    monkeypatch.setattr(Config, "from_pyfile", counted)
    answer(Answer.json([ITEM]))
    for _ in range(3):
        assert client.get("/").status_code == 200
    assert len(compiled) == 1
    write_config(f'BACKEND_URI = "{stub_backend.uri}"  # changed\n')
    assert client.get("/").status_code == 200
    assert len(compiled) == 2


def test_a_key_removed_from_the_file_does_not_linger(client, answer, write_config):
    answer(Answer.json([ITEM]))
    assert client.get("/").status_code == 200
    write_config("OTHER = 1\n")
    response = client.get("/")
    assert response.status_code == 500
    assert "does not set BACKEND_URI" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("text", "phrases"),
    [
        ('BACKEND_URI = "http://x:8080', ["syntax error", "line 1"]),
        ("\n\nBACKEND_URI = (", ["syntax error", "line 3"]),
        ("OTHER_SETTING = 1\n", ["does not set BACKEND_URI"]),
        ('BACKEND_URI = "ftp://backend:21"', ["must be an http:// or https:// URL", "ftp://backend:21"]),
        ('BACKEND_URI = "python-shop-backend-service:8080"', ["must be an http:// or https:// URL"]),
        ('BACKEND_URI = "http://"', ["must be an http:// or https:// URL with a host"]),
        ('BACKEND_URI = "http://backend:99999"', ["not a valid URL"]),
        ("BACKEND_URI = 8080", ["must be a string, not int"]),
        ("BACKEND_URI = undefined_name", ["failed to load", "NameError"]),
    ],
    ids=["unterminated", "syntax-line-3", "no-key", "ftp", "no-scheme", "no-host", "bad-port", "not-a-string", "name-error"],
)
def test_a_bad_config_file_is_a_clear_500(client, write_config, config_path, frontend_log, stub_backend, text, phrases):
    write_config(text)
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "misconfigured" in html and "Traceback" not in html
    for phrase in phrases:
        assert phrase in html
    assert stub_backend.requests == 0, "a broken config must not fall back to any backend"
    lines = frontend_log()
    assert len(lines) == 1 and str(config_path) in lines[0]


def test_an_unreadable_config_file_is_a_clear_500(client, config_path, frontend_log):
    config_path.unlink()
    config_path.mkdir()  # exists, but cannot be read as a file
    response = client.get("/")
    assert response.status_code == 500
    # Flask's words for it, from the error's strerror (not the errno and path a second time).
    assert (f"config file {config_path} cannot be read: Unable to load configuration file (Is a directory)"
            in response.get_data(as_text=True))


def test_a_config_path_that_cannot_be_looked_at_is_a_clear_500(tmp_path, stub_backend):
    # /config a file, not the ConfigMap's directory: not "no file" (that would be localhost), but broken.
    (tmp_path / "config").write_text("")
    path = tmp_path / "config" / "config.cfg"
    response = create_app({"SHOP_CONFIG_PATH": str(path)}).test_client().get("/")
    assert response.status_code == 500
    assert f"config file {path} cannot be read: Not a directory" in response.get_data(as_text=True)
    assert stub_backend.requests == 0


def test_a_relative_config_path_is_relative_to_the_working_directory(tmp_path, stub_backend, monkeypatch):
    # CONFIG_PATH=conf/config.cfg for a local run: that file, not a silent fallback to localhost.
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.cfg").write_text(f'BACKEND_URI = "{stub_backend.uri}"\n')
    monkeypatch.chdir(tmp_path)
    stub_backend.answer = Answer.json([ITEM])
    response = create_app({"SHOP_CONFIG_PATH": "conf/config.cfg"}).test_client().get("/")
    assert (response.status_code, "<td>Apple</td>" in response.get_data(as_text=True)) == (200, True)


def test_load_backend_uri_raises_config_error_naming_the_file(write_config):
    path = write_config("BACKEND_URI = None")
    with pytest.raises(ConfigError, match=str(path)):
        load_backend_uri(str(path))


def test_config_path_defaults_to_slash_config_and_env_overrides_it():
    assert settings.from_environ({})["SHOP_CONFIG_PATH"] == "/config/config.cfg"
    assert settings.from_environ({"CONFIG_PATH": "/tmp/x.cfg"})["SHOP_CONFIG_PATH"] == "/tmp/x.cfg"


def test_unset_settings_are_the_documented_defaults():
    assert settings.from_environ({}) == {
        "SHOP_CONFIG_PATH": "/config/config.cfg",  # where the pod mounts the ConfigMap
        "BACKEND_CONNECT_TIMEOUT": 1.0,  # docs/apps.md: a pod on the cluster network accepts in milliseconds
        "BACKEND_READ_TIMEOUT": 3.0,  # docs/apps.md: the inventory answers in about a millisecond; 3 s is slow
        "BACKEND_MAX_RESPONSE_BYTES": 1_048_576,  # docs/apps.md: 1 MiB (the five items are about 300 bytes)
        "BACKEND_POOL_SIZE": 16,  # one connection per thread: the Procfile's WEB_THREADS default
    }


def test_timeouts_are_overridden_by_the_environment():
    custom = settings.from_environ({"BACKEND_CONNECT_TIMEOUT": "0.25", "BACKEND_READ_TIMEOUT": "7"})
    assert (custom["BACKEND_CONNECT_TIMEOUT"], custom["BACKEND_READ_TIMEOUT"]) == (0.25, 7.0)


# Each setting's range (docs/apps.md), its ends taken and a step past each refused.
RANGES = [
    ("BACKEND_CONNECT_TIMEOUT", "0.01", "0.009", "60", "60.001", "0.01 and 60.0"),
    ("BACKEND_READ_TIMEOUT", "0.01", "0.009", "300", "300.001", "0.01 and 300.0"),
    ("BACKEND_MAX_RESPONSE_BYTES", "1024", "1023", "67108864", "67108865", "1024 and 67108864"),  # 1 KiB to 64 MiB
    ("BACKEND_POOL_SIZE", "1", "0", "1024", "1025", "1 and 1024"),
    ("WEB_THREADS", "1", "0", "1024", "1025", "1 and 1024"),
]


@pytest.mark.parametrize(("name", "lowest", "below", "highest", "above", "between"), RANGES, ids=[r[0] for r in RANGES])
def test_each_setting_takes_its_whole_range_and_nothing_past_it(name, lowest, below, highest, above, between):
    key = "BACKEND_POOL_SIZE" if name == "WEB_THREADS" else name  # WEB_THREADS sizes the pool when it is unset
    for taken in (lowest, highest):
        assert settings.from_environ({name: taken})[key] == float(taken), (name, taken)
    for refused in (below, above):
        with pytest.raises(settings.SettingsError) as failure:
            settings.from_environ({name: refused})
        assert str(failure.value) == f"{name}={refused!r} must be between {between}"


@pytest.mark.parametrize(
    ("name", "value", "phrase"),
    [
        ("BACKEND_READ_TIMEOUT", "soon", "is not a valid float"),
        ("BACKEND_READ_TIMEOUT", "0", "must be between"),
        ("BACKEND_CONNECT_TIMEOUT", "nan", "must be between"),
        ("BACKEND_MAX_RESPONSE_BYTES", "1.5", "is not a valid int"),
        ("BACKEND_POOL_SIZE", "0", "must be between"),
    ],
)
def test_bad_environment_settings_stop_start_up_naming_the_variable(name, value, phrase):
    with pytest.raises(settings.SettingsError, match=name) as failure:
        settings.from_environ({name: value})
    assert phrase in str(failure.value)


def test_the_backend_pool_has_one_connection_per_thread_unless_set():
    assert settings.from_environ({})["BACKEND_POOL_SIZE"] == 16
    assert settings.from_environ({"WEB_THREADS": "8"})["BACKEND_POOL_SIZE"] == 8
    assert settings.from_environ({"WEB_THREADS": "8", "BACKEND_POOL_SIZE": "3"})["BACKEND_POOL_SIZE"] == 3
    with pytest.raises(settings.SettingsError, match="WEB_THREADS='many' is not a valid int"):
        settings.from_environ({"WEB_THREADS": "many"})
