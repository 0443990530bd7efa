"""Bulk import of assets from CSV, XLSX or JSON files (api.md, ``POST /api/v1/imports/``).

* ``columns``: the columns of each kind's template and the mapping between cells and ``details``.
* ``readers``: streaming row readers (generators over the stored file, constant memory).
* ``services``: the job (create, claim, run in batches, finish, recover) and its domain errors.
* ``selectors``: reads that imply permission.
"""
