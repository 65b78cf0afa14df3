"""The local stand-in for Paygate's event handlers (`chalice local` runs none of them).

A background thread drives the same code the deployed functions run: it
delivers due webhooks every second and runs compensation every minute.
"""
import logging
import threading

log = logging.getLogger('paygate.localworker')

DELIVERY_EVERY = 1.0
COMPENSATE_EVERY = 60.0


class LocalWorker:
    def __init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='paygate-worker', daemon=True)

    def _run(self):
        from chalicelib import compensation
        from chalicelib.webhooks import worker
        ticks_per_compensation = int(COMPENSATE_EVERY / DELIVERY_EVERY)
        tick = 0
        while not self._stop.wait(DELIVERY_EVERY):
            tick += 1
            try:
                worker.drain()
                if tick % ticks_per_compensation == 0:
                    compensation.run()
            except Exception:
                log.exception('local worker pass failed; trying again')

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(timeout=15)
