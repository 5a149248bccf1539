"""The HTTP door of the core API: an authenticated batch de-identification service.

``deid-pipeline serve`` runs :func:`deid_pipeline.service.app.create_app` under uvicorn. Modules:

* :mod:`~deid_pipeline.service.settings`: ``ServiceSettings`` (the pipeline's ``DEID_*``
  variables plus request limits, queue bounds and authentication);
* :mod:`~deid_pipeline.service.auth`: hashed API keys and OIDC tokens checked against a JWKS;
* :mod:`~deid_pipeline.service.microbatcher`: windows of all requests batched by a window and
  token budget with a maximum wait, bounded queues that answer 429;
* :mod:`~deid_pipeline.service.runner`: a request through the core (prepare -> detect ->
  release), serialized like the file CLI's output lines;
* :mod:`~deid_pipeline.service.metrics`: Prometheus metrics without PHI;
* :mod:`~deid_pipeline.service.app`: routes, errors, access log, lifespan;
* :mod:`~deid_pipeline.service.cli`: the ``serve`` sub-command.

Importing this package imports no web framework: the CLI registers ``serve`` cheaply.
"""
