"""valueloop: an open platform for the industrial internet.

One closed loop: collect from the field, store, analyse, optimise, act and account for the value in
money. The small public API::

    from valueloop import Loop, load_site, open_site

    site = open_site(load_site("site.yaml"), "valueloop-data")
    summary = Loop(site).run()
"""

from valueloop.config import load_site
from valueloop.loop import Loop
from valueloop.site import Site, open_site

__all__ = ["Loop", "Site", "load_site", "open_site"]
__version__ = "0.1.0"
