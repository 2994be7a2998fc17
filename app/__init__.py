"""The service on top: settings, HTTP API, web page and the ``casesearch`` command line."""
