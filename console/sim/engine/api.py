"""The REST layer: routes under /ovirt-engine/api, list parameters, status codes, fault bodies.

Transport-free: takes an :class:`ApiRequest`, returns an :class:`ApiResponse`.
The routes live with their resources: api_vms.py (VMs and their sub-collections)
and api_inventory.py (everything else).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ovirtsdk4 import types

from . import search
from .api_inventory import InventoryApi
from .api_vms import VmApi
from .convert import Converter
from .faults import EngineFault
from .rest import XML, ApiRequest, ApiResponse
from .routes import Miss, Router
from .vm_xml import VmXmlCache
from .world import World
from .xmlout import Follow, parse_follow, render_api, render_fault, render_many, render_one

__all__ = ["XML", "ApiRequest", "ApiResponse", "RestApi"]


class RestApi(VmApi, InventoryApi):
    def __init__(self, world: World) -> None:
        self.w = world
        self.conv = Converter(world)
        self.vm_xml = VmXmlCache(world.vms, world.disks)
        self.cpu_profile_ids: dict[str, str] = {}
        self.router = Router()
        self.router.add("GET", "", self.root)
        self.register_vms()
        self.register_inventory()
        self._register_items()

    def _register_items(self) -> None:
        """GET of one item for every sub-collection that has no route of its own: the engine's
        sub-resource locators answer ``/{parent}/{id}/{rel}/{item}`` for each of them."""
        known = {r.template for r in self.router.routes if r.method == "GET"}
        for route in list(self.router.routes):
            parts = route.template.split("/")
            if (
                route.method == "GET"
                and len(parts) >= 4
                and not parts[-1].startswith("{")
                and f"{route.template}/{{item}}" not in known
            ):
                self._route("GET", f"{route.template}/{{item}}", self._item_of(route.handler))

    def _item_of(self, list_handler: Callable[..., ApiResponse]) -> Callable[..., ApiResponse]:
        def handler(request: ApiRequest, item: str, **ids: str) -> ApiResponse:
            listed = list_handler(request, **ids)
            found = [o for o in listed.objects or [] if getattr(o, "id", None) == item]
            return self._one(found[0] if found else None, lambda obj: obj)

        return handler

    def _route(
        self,
        method: str,
        template: str,
        handler: Callable[..., ApiResponse],
        is_action: bool = False,
    ) -> None:
        self.router.add(method, template, handler, is_action)

    # ------------------------------------------------------------- dispatch
    def handle(self, request: ApiRequest) -> ApiResponse:
        found = self.router.match(request.method, request.path.rstrip("/"))
        if isinstance(found, Miss):
            headers = {"Allow": ", ".join(found.allow)} if found.allow else {}
            return ApiResponse(found.status, b"", None, headers)
        route, groups = found
        try:
            with self.w.lock:
                self.w.scheduler.run_due()
                return route.handler(request, **groups)
        except EngineFault as fault:
            return self._fault_response(fault, is_action=route.is_action)

    @staticmethod
    def _fault_response(fault: EngineFault, is_action: bool) -> ApiResponse:
        if fault.reason is None and fault.detail is None:
            return ApiResponse(fault.status, b"", None)
        if is_action and not fault.bare:
            action = types.Action(
                fault=types.Fault(reason=fault.reason, detail=fault.detail), status="failed"
            )
            return ApiResponse(fault.status, render_one(action))
        return ApiResponse(fault.status, render_fault(fault.reason, fault.detail))

    # ----------------------------------------------------------------- lists
    def _list(
        self,
        request: ApiRequest,
        items: Iterable[Any],
        convert: Callable[..., Any],
        root: str,
        getter: search.FieldGetter | None,
        rank: Callable[[str], float] | None = None,
        sort_key: Callable[[Any, str], Any] | None = None,
    ) -> ApiResponse:
        items, follow = self._select(request, items, getter, rank, sort_key)
        return self._many([convert(item, follow) for item in items], root)

    def _select(
        self,
        request: ApiRequest,
        items: Iterable[Any],
        getter: search.FieldGetter | None,
        rank: Callable[[str], float] | None = None,
        sort_key: Callable[[Any, str], Any] | None = None,
    ) -> tuple[list[Any], Follow]:
        """The items a list request asks for (search, sort, page, max) and its follow."""
        items = list(items)
        text = request.query.get("search")
        page = None
        if text and getter is not None:
            try:
                query = search.parse(text)
                keep = search.matcher(query, getter, request.flag("case_sensitive"), rank)
                items = [item for item in items if keep(item)]
            except search.InvalidSearch:
                items = []  # SearchQuery: syntax error -> empty result, HTTP 200 (see search.InvalidSearch)
            else:
                page = query.page
                if query.sort_by and sort_key is not None:
                    items.sort(key=lambda i: sort_key(i, query.sort_by), reverse=query.descending)
        limit = request.query.get("max")
        size = None
        if limit is not None:
            try:
                size = int(limit)
            except ValueError:
                raise EngineFault(
                    400, "Invalid value", f"Value '{limit}' isn't a valid integer"
                ) from None
            if size < 0:
                size = None
        if page is not None:
            # SearchQuery: "page N" skips (N-1) pages of max results (SearchResultsLimit, 100, without max).
            per_page = size if size is not None else SEARCH_RESULTS_LIMIT
            items = items[(page - 1) * per_page : page * per_page] if page > 0 else []
        elif size is not None:
            items = items[:size]
        return items, parse_follow(request.query.get("follow"))

    def _many(self, objs: Iterable[Any], root: str) -> ApiResponse:
        objs = list(objs)
        return ApiResponse(200, render_many(objs, root), objects=objs)

    def _empty(self, root: str) -> Callable[..., ApiResponse]:
        """A sub-collection the engine has nothing in for the simulated inventory."""

        def handler(request: ApiRequest, **ids: str) -> ApiResponse:
            self._owner(ids)
            return self._many([], root)

        return handler

    def _owner(self, ids: dict[str, str]) -> Any:
        """The parent entity of a sub-collection: 404 when it does not exist."""
        tables = {
            "vid": self.w.vms,
            "tid": self.w.templates,
            "hid": self.w.hosts,
            "cid": self.w.clusters,
            "dcid": self.w.datacenters,
            "sdid": self.w.storage_domains,
            "did": self.w.disks,
            "nid": self.w.networks,
            "pid": self.w.vnic_profiles,
            "jid": self.w.jobs,
        }
        owner = None
        for key, value in ids.items():
            if key in tables:
                owner = self.w.get(tables[key], value)
        return owner

    @staticmethod
    def _one(item: Any, convert: Callable[[Any], Any]) -> ApiResponse:
        if item is None:
            return ApiResponse(404, b"", None)
        return ApiResponse(200, render_one(convert(item)))

    # ------------------------------------------------------------------ root
    def root(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, render_api(self.conv.api()))


SEARCH_RESULTS_LIMIT = 100  # ConfigValues.SearchResultsLimit
