"""The detail-types of the contract's events, by direction, without their models.

For code that needs only the names (the lake transform: which facts it keeps), so that it
imports no pydantic model. models/events.py and models/careers.py map each name to the model
of its `detail`; tests/unit/test_event_samples.py holds these sets equal to those maps.
"""

from __future__ import annotations

# Every event the system consumes (models.events.INBOUND_EVENTS).
INBOUND = frozenset(
    {
        "Candidate Profile Updated",
        "Candidate Consent Changed",
        "Candidate Event Registered",
        "Candidate Event Attended",
        "Candidate Event No-Show",
        "Candidate Job Viewed",
        "Candidate Application Submitted",
        "Job Opened",
        "Candidate Erasure Requested",
    }
)
# Every event the system emits (models.events.OUTBOUND_EVENTS).
OUTBOUND = frozenset(
    {
        "Message Sent",
        "Message Suppressed",
        "Message Delivered",
        "Message Opened",
        "Message Clicked",
        "Candidate Profile Changed",
        "Candidate Erased",
    }
)
# Every event the careers-site API emits (models.careers.CAREERS_SITE_EVENTS).
CAREERS_SITE = frozenset(
    {
        "Candidate Job Viewed",
        "Candidate Application Started",
        "Candidate Page Viewed",
        "Visitor Job Viewed",
        "Visitor Application Started",
        "Visitor Page Viewed",
    }
)
