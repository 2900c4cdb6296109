"""valueloop: an open platform for the industrial internet.

One closed loop on any site a user describes: collect from the field, store, analyse, raise
alarms, decide, act and account for the value in money. The public API is small and imports
nothing heavy::

    from valueloop.config import load_site
    from valueloop.site import open_site

    site = open_site(load_site("site.yaml"), "valueloop-data")

``valueloop serve`` runs a site's jobs on the real clock and ``valueloop run`` over its history on
a simulated one (:mod:`valueloop.engine`).
"""

__version__ = "0.1.0"
