from fastapi.testclient import TestClient

from infrastructure.bootstrap import Container, bootstrap
from infrastructure.settings import Settings
from web.app import create_app


def test_the_app_is_healthy_and_ready_when_its_event_store_answers(container: Container) -> None:
    with TestClient(create_app(container)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["event_store"] == "reachable"
        assert ready.headers["x-request-id"]


def test_the_app_is_not_ready_when_postgresql_is_unreachable(tmp_path, postgres_url: str) -> None:
    container = bootstrap(Settings(environment="test", data_dir=tmp_path, database_url=postgres_url))
    with TestClient(create_app(container)) as client:
        assert client.get("/readyz").status_code == 200
        container.app.recorder.datastore.pool.close()  # the server goes away under a running app
        response = client.get("/readyz")
        assert response.status_code == 503 and response.json()["event_store"] == "unreachable"
        assert client.get("/healthz").status_code == 200
    container.engine.dispose()
