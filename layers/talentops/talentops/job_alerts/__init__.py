"""Job alerts: `Job Opened` reaches the part of the talent pool that fits the job now.

matching.py  pure: which index partition and seniority band a job reads, whether a
             profile fits a job (the worker checks it again on the fresh read)
messages.py  the SQS message from the fan-out to the send worker
fanout.py    Job Opened -> the JOB item -> pages of the matching index -> SQS batches
worker.py    one SQS message: read profiles in a batch, decide each (delivery.decide),
             claim in transactions, send, complete, publish
"""
