"""PanDA/iDDS runner: trials as iDDS works (PanDA jobs), results over STOMP with REST fallback.

Modules: ``options`` (the config section), ``credentials`` (OIDC token / X.509 proxy checks),
``packaging`` (the source tarball), ``wire`` (payload and result envelope), ``worker`` (what a
job runs), ``backend`` (the only module importing idds / pandaclient), ``channel`` (STOMP
subscriber), ``runner`` (:class:`~detopt.runners.panda.runner.PandaRunner`). Importing this
package needs none of the optional libraries; see docs/runners.md.
"""
