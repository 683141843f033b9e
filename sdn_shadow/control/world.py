"""The planning phase of a start: the core and its stores, built while the API says "starting".

`plan_world` is the slow part of a start (compiling every switch's plan);
`serve_api` then puts the real REST API behind the gate that has been
answering "starting" meanwhile.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sdn_shadow.api.restore import file_time, layered, replay
from sdn_shadow.api.store import ApiStore
from sdn_shadow.config import read_document
from sdn_shadow.config.model import Config
from sdn_shadow.control.kept_models import KeptModels
from sdn_shadow.control.service import AppService, ReloadStatus
from sdn_shadow.control.startup import ApiGate, RunSettings
from sdn_shadow.core import ShadowCore
from sdn_shadow.telemetry.model_store import ModelStore
from sdn_shadow.telemetry.profile_store import ProfileStore
from sdn_shadow.telemetry.store import SeriesStore

LOG = logging.getLogger("sdn_shadow")


@dataclass
class World:
    """What the controller runs on: the core, its series, profile and model stores, the
    API's store of kept changes and the configuration document they layer on."""

    core: ShadowCore
    series: SeriesStore
    profiles: ProfileStore | None
    api_store: ApiStore | None
    document: dict[str, Any] | None
    models: KeptModels | None = None


def kept_changes(settings: RunSettings) -> tuple[ApiStore | None, dict[str, Any] | None,
                                                 Config]:
    """The API's store, the configuration document and the Config with kept changes."""
    config, document = settings.config, settings.document
    if document is None and settings.config_path:
        document = read_document(settings.config_path)
    path = config.api.store
    if path is None or document is None:
        return None, document, config
    store = ApiStore(path)
    merged, layered_config, problems = layered(document, store, settings.config_path,
                                               file_time(settings.config_path))
    for problem in problems:
        LOG.error("API changes kept in %s no longer fit %s, starting without them: %s",
                  path, settings.config_path, problem)
    for line in store.conflicts:
        LOG.warning("%s: %s", settings.config_path, line)
    if layered_config is None:
        return store, merged, config
    LOG.info("changes to %d networks made over the API restored from %s",
             store.network_count(), path)
    return store, merged, layered_config


def plan_world(settings: RunSettings, now: float) -> World:
    """Plan the fabric from the configuration (with the API's kept changes) and reload
    the history."""
    api_store, document, config = kept_changes(settings)
    core = ShadowCore(config)
    if api_store is not None:
        for line in replay(core, api_store, now):
            LOG.info("restored from %s: %s", api_store.path, line)
    tel = config.telemetry
    series = SeriesStore(tel.history, tel.window, tel.retention)
    profiles = ProfileStore(tel.history) if tel.history else None
    if profiles is not None:
        core.profiles = profiles.load(**core.profiles.settings())
        LOG.info("history in %s: %d series, %d client profiles reloaded", tel.history,
                 len(series.series_keys()), len(core.profiles))
    models = KeptModels(ModelStore(tel.history)) if tel.history else None
    if models is not None:
        core.capacity.models, problems = models.load(core.capacity.forecaster())
        for line in problems:
            LOG.warning("%s; its series are refitted", line)
        LOG.info("forecast models reloaded: %s", ", ".join(
            f"{m.name} ({len(m.keys)} series, fitted at {m.fitted_at:.0f})"
            for m in core.capacity.models.values()) or "none")
    # The start-up plan is most of the heap and lives as long as the process: keep
    # the collector's full passes off it (0.6-4 s pauses at 5,000 hosts otherwise).
    gc.freeze()
    return World(core, series, profiles, api_store, document, models)


def serve_api(settings: RunSettings, world: World, gate: ApiGate,
              lock: AbstractContextManager[Any], send: Callable[..., Any],
              reload_status: ReloadStatus) -> AppService:
    """Put the REST API behind `gate`; the service it runs on."""
    from sdn_shadow.api.auth import TokenBook
    from sdn_shadow.api.rest import create_app

    tokens_file = settings.tokens_file
    if not tokens_file:
        raise RuntimeError("the REST API needs a token file (api.tokens or --tokens)")
    tokens = TokenBook.load(tokens_file)
    config = world.core.config
    ldap, ldap_text = None, ""
    if config.api.ldap is not None:
        from sdn_shadow.api.ldap_roles import LdapRoles, cleartext_warnings

        ldap, ldap_text = LdapRoles(config.api.ldap), f", LDAP users of {config.api.ldap.url}"
        for line in cleartext_warnings(config.api.ldap.url, config.api.tls is not None):
            LOG.warning("%s", line)
    service = AppService(world.core, send, lock, time.time, document=world.document,
                         store=world.api_store, reload_status=reload_status)
    gate.attach(create_app(service, tokens, ldap, max_body=config.api.max_body))
    LOG.info("REST API on %s://%s/api/v1 (%d tokens from %s%s; OpenAPI at /openapi.json)",
             "https" if config.api.tls else "http", settings.api_listen, len(tokens.holders),
             tokens_file, ldap_text)
    return service
