"""TEST ONLY: the iDDS REST server (idds-server 2.6.21) for the PanDA runner tests, on plain http.

    IDDS_CONFIG=<idds.cfg> IDDS_AUTH_CONFIG=<auth.cfg> python idds_rest_server.py PORT [schema]

``schema`` builds iDDS's tables in the configured PostgreSQL database and exits. Otherwise it
serves the real iDDS Flask app under ``/idds`` on 127.0.0.1:PORT, behind a shim that stands in
for Apache mod_ssl/gridsite: in production Apache verifies the client's X.509 proxy and exports
its DN; here every request is given the test DN that auth.cfg allows. Nothing else is changed.
"""

from __future__ import annotations

import os
import sys


def build_schema() -> None:
    import sqlalchemy
    from sqlalchemy.schema import CreateSchema

    from idds.common.config import config_get
    from idds.orm.base import models

    url, schema = config_get("database", "default"), config_get("database", "schema")
    engine = sqlalchemy.create_engine(url, execution_options={"schema_translate_map": {None: schema}})
    with engine.connect() as conn, conn.begin():
        conn.execute(CreateSchema(schema, if_not_exists=True))
    models.register_models(engine)
    tables = sqlalchemy.inspect(engine).get_table_names(schema=schema)
    print(f"iDDS schema {schema}: {len(tables)} tables")


class FakeTLSClientAuth:
    """TEST ONLY: stands in for Apache mod_ssl/gridsite, which would export the verified DN."""

    DN = "/DC=test/CN=detopt-test"

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        environ["SSL_CLIENT_S_DN"] = self.DN
        environ["SSL_CLIENT_CERT"] = "-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----"
        return self.app(environ, start_response)


def serve(port: int) -> None:
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.serving import run_simple

    from idds.rest.v1.app import create_app

    def not_found(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    root = DispatcherMiddleware(not_found, {"/idds": FakeTLSClientAuth(create_app())})
    run_simple("127.0.0.1", port, root, threaded=True, use_reloader=False)


if __name__ == "__main__":
    if not os.environ.get("IDDS_CONFIG"):
        sys.exit("set IDDS_CONFIG")
    if len(sys.argv) > 2 and sys.argv[2] == "schema":
        build_schema()
    else:
        serve(int(sys.argv[1]))
