import pytest

from shop_frontend import create_app
from tests.frontend.limits import CONNECT_TIMEOUT, MAX_RESPONSE_BYTES, READ_TIMEOUT
from tests.support.stub_backend import Answer, StubBackend


@pytest.fixture
def stub_backend():
    with StubBackend() as stub:
        yield stub


@pytest.fixture
def config_path(tmp_path):
    return tmp_path / "config" / "config.cfg"


@pytest.fixture
def write_config(config_path):
    """Write the frontend's config.cfg the way the ConfigMap would."""

    def write(text: str):
        config_path.parent.mkdir(exist_ok=True)
        fresh = config_path.with_suffix(".new")
        fresh.write_text(text)
        fresh.replace(config_path)  # a new file, atomically: as the kubelet swaps it in
        return config_path

    return write


@pytest.fixture
def app(config_path, write_config, stub_backend):
    write_config(f'BACKEND_URI = "{stub_backend.uri}"\n')
    return create_app(
        {
            "SHOP_CONFIG_PATH": str(config_path),
            "BACKEND_CONNECT_TIMEOUT": CONNECT_TIMEOUT,
            "BACKEND_READ_TIMEOUT": READ_TIMEOUT,
            "BACKEND_MAX_RESPONSE_BYTES": MAX_RESPONSE_BYTES,
        }
    )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def answer(stub_backend):
    """Set what the stub backend answers next."""

    def set_answer(value: Answer) -> None:
        stub_backend.answer = value

    return set_answer


@pytest.fixture
def frontend_log(caplog):
    """The frontend's own log lines (one per failure is the rule)."""
    caplog.set_level("INFO", logger="shop_frontend")

    def lines():
        return [r.getMessage() for r in caplog.records if r.name == "shop_frontend"]

    return lines
