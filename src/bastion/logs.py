"""The process's log: structlog, to standard error, at ``BASTION_LOG_LEVEL``.

Standard error, so a command's standard output holds only what it prints (``--json``
output stays parseable when something logs a warning on the way). What goes into a log
line is each call site's business: event names, codes and ids, never message text,
personal data, tokens or keys (docs/security.md, "Privacy in code").
"""

from __future__ import annotations

import logging
import sys

import structlog

LEVELS = ("debug", "info", "warning", "error")


def configure_logging(level: str) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=True),
            structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
