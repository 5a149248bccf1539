"""``python -m deid_pipeline`` runs the ``deid-pipeline`` console script."""

from deid_pipeline.cli import main

raise SystemExit(main())
