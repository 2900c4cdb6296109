"""The HTTP API of a site: :func:`valueloop.api.app.create_app` builds it, tokens and roles are in
:mod:`valueloop.api.auth`."""
