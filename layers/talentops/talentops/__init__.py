"""talentops: the shared package of the talent personalization functions.

Tiers, imports pointing downward only:
  models      pydantic models of the contract and of stored state
  services    talent_pool, consent, content, delivery (pure decision logic + orchestration)
  adapters    the only code that talks to AWS
"""

__version__ = "0.1.0"

# In Lambda, the collector waits until the first invocation ends (talentops/coldstart.py).
from .coldstart import defer_collection as _defer_collection

_defer_collection()
