"""
The Plan tab: new services and changes drawn on a map, named scenarios, their comparison, costing, targets.

The scenario being drawn is ``st.session_state["plan_edits"]`` (a list of ``views.PlanEdit``), the
saved ones ``st.session_state["plan_scenarios"]`` (name → edits); the callbacks below change them
before the page is drawn again, so one run shows the change.
"""

from __future__ import annotations

import functools
from typing import Any

import streamlit as st

from socialmap import views
from socialmap.app.plan import change_edit, draft_compared
from socialmap.app.ui.cached import Source, run_plan, suggest_sites
from socialmap.app.ui.common import MIME, Page, show_table
from socialmap.app.ui.workspace import remember_costing, restore_costing
from socialmap.display import offer_download, plain
from socialmap.errors import SocialMapError
from socialmap.errors import message as error_text
from socialmap.i18n import t

#: The arguments of ``cached.run_analysis`` (the uploads, the source, the analysis options), which the
#: scenario runs and the suggested sites take too.
Options = tuple[
    views.Upload | None,
    views.Upload | None,
    views.Upload | None,
    Source,
    str,
    float,
    str,
    float,
    views.Upload | None,
    str,
    float | None,
]


def add_edits(*edits: views.PlanEdit) -> None:
    """Add proposed services to the scenario being drawn (session state, per session)."""
    st.session_state["plan_edits"] = [*st.session_state.get("plan_edits", []), *edits]


def add_planned(service_type: str) -> None:
    """Add the service at the point given below the map ("Add to scenario"), with its places."""
    lon, lat = st.session_state.get("plan_lon"), st.session_state.get("plan_lat")
    if lon is None or lat is None:
        return
    capacity = st.session_state.get("plan_capacity")
    add_edits(views.PlanEdit(service_type, float(lon), float(lat), capacity))
    st.session_state.pop("plan_point", None)


def add_suggested(*suggested: views.PlanEdit) -> None:
    """Add the suggested sites to the scenario and forget the suggestion."""
    add_edits(*suggested)
    st.session_state.pop("plan_suggested", None)


def remove_edit(index: int) -> None:
    """Remove one proposed service from the scenario being drawn."""
    edits = list(st.session_state.get("plan_edits", []))
    if 0 <= index < len(edits):
        del edits[index]
    st.session_state["plan_edits"] = edits


def clear_edits() -> None:
    """Start a new scenario: forget the services proposed so far (saved scenarios stay)."""
    st.session_state["plan_edits"] = []


def save_scenario(name: str) -> None:
    """Keep the scenario being drawn under a name (replacing one of the same name)."""
    st.session_state["plan_scenarios"] = {
        **st.session_state.get("plan_scenarios", {}),
        name: tuple(st.session_state.get("plan_edits", [])),
    }


def delete_scenario(name: str) -> None:
    """Forget a saved scenario."""
    st.session_state["plan_scenarios"] = {
        n: e for n, e in st.session_state.get("plan_scenarios", {}).items() if n != name
    }


def plan_tab(page: Page) -> None:
    """Show the Plan tab for the service type chosen in the sidebar."""
    lang, tax, service_type = page.lang, page.tax, page.selection.service_type
    uploads, source, road_options = page.uploads, page.source, page.road_options
    method, catchment_km, spreading, cell_km = page.method, page.catchment_km, page.spreading, page.cell_km
    options = (
        *uploads,
        source,
        method,
        catchment_km * 1000.0,
        spreading,
        cell_km * 1000.0,
        *road_options,
    )
    if service_type == views.ALL_TYPES:
        st.info(t("Choose one service type in the sidebar to plan new services of that type.", lang))
    else:
        type_label = plain(views.choice_label(service_type, tax, lang))
        edits = tuple(st.session_state.get("plan_edits", []))
        draft, lon, lat, capacity = _draw(page, options, type_label, edits)
        _change_existing(page, edits, type_label, lon, lat)
        _suggest(page, options, capacity)
        _scenario(page, edits, draft)
        saved, run_names, results, runs = _comparison(page, options, edits, draft, type_label)
        if len(runs) >= 2:
            _difference_map(page, run_names, results, runs)
        if saved:
            _saved_scenarios(page, saved)
        unit_cost = _costing(page, run_names, results, type_label)
        _targets(page, run_names, results, unit_cost)


def _draw(
    page: Page, options: Options, type_label: str, edits: tuple[views.PlanEdit, ...]
) -> tuple[Any, float | None, float | None, float]:
    """Run the scenario being drawn and map it; the point clicked, the new service's places, "Add"."""
    # Imported by the script run, which registers the map's Streamlit component (see socialmap.serve).
    from streamlit_folium import st_folium

    lang, tax, result = page.lang, page.tax, page.result
    selection, service_type, sources = page.selection, page.selection.service_type, page.sources
    assets, asset_url = page.assets, page.asset_url
    with st.spinner(t("Analysing…", lang)):
        draft = run_plan(*options, edits, lang)
    if draft.result is None:
        st.error(t("The scenario could not be analysed:", lang))
        show_table(views.problems_table(draft.problems, lang), lang, key="problems_plan")
    shown = draft.result if draft.result is not None else result
    st.caption(
        t(
            "Click on the map to propose a new {type} there; the map shows the gaps with the "
            "services of the scenario added.",
            lang,
            type=type_label,
        )
    )
    clicked = st.session_state.get("plan_point")
    plan_parts = views.map_parts(
        views.plan_map(
            shown,
            selection,
            tax,
            edits,
            clicked,
            attribution=sources.attribution,
            assets=assets,
            asset_url=asset_url,
            services=result.services,
        )
    )
    value = st_folium(
        plan_parts.base,
        key="plan_map",
        height=520,
        use_container_width=True,
        returned_objects=["last_clicked"],
        feature_group_to_add=plan_parts.layers,
        layer_control=plan_parts.control,
    )
    point = views.clicked_point(value)
    if point is not None and point != st.session_state.get("plan_last_click"):
        # A new click: it fills the point below (the inputs are drawn after the map).
        st.session_state["plan_last_click"] = point
        st.session_state["plan_point"] = point
        st.session_state["plan_lon"], st.session_state["plan_lat"] = point
        st.rerun()

    c1, c2, c3 = st.columns(3)
    lon = c1.number_input(t("Longitude", lang), format="%.5f", value=None, key="plan_lon")
    lat = c2.number_input(t("Latitude", lang), format="%.5f", value=None, key="plan_lat")
    capacity = c3.number_input(
        t("Places of the new service", lang),
        min_value=0.0,
        value=20.0,
        step=1.0,
        format="%.0f",
        key="plan_capacity",
        help=t("Places the new service offers (its capacity).", lang),
    )
    # Added before the page is drawn again (a callback), so one run shows the scenario.
    st.button(
        t("Add to scenario", lang),
        key="plan_add",
        disabled=lon is None or lat is None,
        type="primary",
        on_click=add_planned,
        args=(service_type,),
    )
    return draft, lon, lat, capacity


def _change_existing(
    page: Page, edits: tuple[views.PlanEdit, ...], type_label: str, lon: float | None, lat: float | None
) -> None:
    """Offer to change an existing service: close it, move it (to the point above) or resize it."""
    lang, tax, result = page.lang, page.tax, page.result
    service_type = page.selection.service_type
    with st.expander(t("Close, move or resize an existing service", lang)):
        existing = views.existing_services(result, service_type, tax, edits, lang)
        if existing.empty:
            st.caption(
                t(
                    "No existing {type} can be changed here (the sites of confidential services "
                    "are never shown; change them in a scenario file with `socialmap scenario`).",
                    lang,
                    type=type_label,
                )
            )
        else:
            labels = dict(zip(existing["service_id"], existing["label"], strict=True))
            chosen = st.selectbox(
                t("Service", lang),
                list(labels),
                format_func=lambda i: labels[i],
                key="plan_existing",
                placeholder=t("Choose an option", lang),
            )
            action = st.radio(
                t("Change", lang),
                ("remove", "move", "capacity"),
                format_func=lambda a: t(views.ACTION_LABELS[a], lang),
                horizontal=True,
                key="plan_action",
            )
            row = existing.set_index("service_id").loc[chosen]
            new_places = None
            if action == "move":
                st.caption(
                    t(
                        "It moves to the longitude and latitude above: click its new site on the map.",
                        lang,
                    )
                )
            elif action == "capacity":
                new_places = st.number_input(
                    t("New number of places", lang),
                    min_value=0.0,
                    value=None,
                    step=1.0,
                    format="%.0f",
                    key="plan_new_places",
                )
            site = (float(row["lon"]), float(row["lat"]))
            edit = change_edit(service_type, str(chosen), action, site, (lon, lat), new_places)
            if st.button(t("Apply the change", lang), key="plan_apply", disabled=edit is None) and edit:
                add_edits(edit)
                st.session_state.pop("plan_point", None)
                st.rerun()


def _suggest(page: Page, options: Options, capacity: float) -> None:
    """Suggest sites for new services (covering the need no service reaches) and offer to add them."""
    lang, tax, service_type = page.lang, page.tax, page.selection.service_type
    with st.expander(t("Suggest sites", lang)):
        n_sites = st.number_input(t("Number of sites", lang), 1, 10, 3, key="plan_k")
        if st.button(t("Suggest {k} sites", lang, k=n_sites), key="plan_suggest"):
            try:
                with st.spinner(t("Choosing sites…", lang)):
                    st.session_state["plan_suggested"] = suggest_sites(
                        options, service_type, int(n_sites), capacity, lang
                    )
            except SocialMapError as exc:
                st.error(
                    t(
                        "No sites could be suggested: {error}",
                        lang,
                        error=plain(error_text(exc, lang)),
                    )
                )
        suggested, notes = st.session_state.get("plan_suggested", ((), ()))
        suggested = tuple(e for e in suggested if e.service_type == service_type)
        if suggested:
            show_table(views.plan_edits_table(suggested, tax, lang), lang, key="plan_suggested_table")
            for note in notes:
                st.caption(plain(note))
            st.button(
                t("Add the suggested sites to the scenario", lang),
                key="plan_add_suggested",
                on_click=add_suggested,
                args=suggested,
            )


def _scenario(page: Page, edits: tuple[views.PlanEdit, ...], draft: Any) -> None:
    """Show the scenario being drawn (undo a change, start anew), its notes, and save it under a name."""
    lang, tax, result = page.lang, page.tax, page.result
    st.subheader(t("Scenario", lang))
    if not edits:
        st.caption(t("No change yet.", lang))
    else:
        show_table(
            views.plan_edits_table(edits, tax, lang, services=result.services),
            lang,
            key="plan_edits_table",
        )
        st.button(t("Start a new scenario", lang), key="plan_clear", on_click=clear_edits)
        r1, r2 = st.columns([3, 1])
        drop = r1.selectbox(
            t("Undo a change", lang),
            range(1, len(edits) + 1),
            key="plan_remove_index",
            placeholder=t("Choose an option", lang),
        )
        r2.button(t("Undo", lang), key="plan_remove", on_click=remove_edit, args=(int(drop or 1) - 1,))
    if draft.result is not None:
        for note in views.plan_notes(result, draft.result, tax, lang):
            st.warning(plain(note))
    s1, s2 = st.columns([3, 1])
    scenario_name = s1.text_input(t("Scenario name", lang), key="plan_name").strip()
    if s2.button(t("Save scenario", lang), key="plan_save", disabled=not edits):
        if not scenario_name:
            st.error(t("Give the scenario a name before saving it.", lang))
        elif scenario_name == t(views.CURRENT, lang):
            st.error(t("That name is taken by the current services: choose another.", lang))
        else:
            save_scenario(scenario_name)
            st.success(t("Saved scenario {name}.", lang, name=plain(scenario_name)))


def _comparison(
    page: Page, options: Options, edits: tuple[views.PlanEdit, ...], draft: Any, type_label: str
) -> tuple[dict[str, tuple[views.PlanEdit, ...]], dict[str, str], dict[str, Any], dict[str, Any]]:
    """Run the saved scenarios; compare them with the current services (tables and their downloads)."""
    lang, result, service_type = page.lang, page.result, page.selection.service_type
    saved: dict[str, tuple[views.PlanEdit, ...]] = st.session_state.get("plan_scenarios", {})
    st.subheader(t("Comparison: {type}", lang, type=type_label))
    # Runs by a stable key (a saved scenario's name, stripped, so never one of the two
    # others), so a language switch keeps the choices below.
    run_names = {" current": t(views.CURRENT, lang)}
    results = {" current": result}
    if draft_compared(edits, saved, analysed=draft.result is not None):
        run_names[" draft"], results[" draft"] = t("Scenario (not saved)", lang), draft.result
    for name, scenario_edits in saved.items():
        run = run_plan(*options, scenario_edits, lang)
        if run.result is None:
            st.error(t("Scenario {name} could not be analysed.", lang, name=plain(name)))
        else:
            run_names[name], results[name] = name, run.result
    runs = {run_names[k]: r for k, r in results.items()}
    if len(runs) < 2:
        st.caption(t("Add a new service to see what changes.", lang))
    else:
        try:
            by_area = views.plan_comparison(runs, service_type, lang=lang)
            national = views.plan_comparison(runs, service_type, level="total", lang=lang)
        except SocialMapError as exc:
            st.error(
                t(
                    "The scenarios could not be compared: {error}",
                    lang,
                    error=plain(error_text(exc, lang)),
                )
            )
        else:
            st.caption(t("National totals", lang))
            show_table(national, lang, key="plan_national")
            st.caption(t("By municipality (Δ: change from the current services)", lang))
            show_table(by_area, lang, key="plan_by_area")
            tables = {"municipalities": by_area, "national": national}
            x1, x2 = st.columns(2)
            offer_download(
                x1,
                t("Comparison (CSV)", lang),
                lambda: views.plan_download(tables, "csv", lang),
                file_name=f"socialmap_scenarios_{service_type}.csv",
                mime=MIME["csv"],
                key="plan_download_csv",
            )
            offer_download(
                x2,
                t("Comparison (XLSX)", lang),
                lambda: views.plan_download(tables, "xlsx", lang),
                file_name=f"socialmap_scenarios_{service_type}.xlsx",
                mime=MIME["xlsx"],
                key="plan_download_xlsx",
            )
    return saved, run_names, results, runs


def _difference_map(
    page: Page, run_names: dict[str, str], results: dict[str, Any], runs: dict[str, Any]
) -> None:
    """Show the map of what a scenario changes, in one metric, and its offline HTML."""
    # Imported by the script run, which registers the map's Streamlit component (see socialmap.serve).
    from streamlit_folium import st_folium

    lang, tax, result = page.lang, page.tax, page.result
    selection, service_type, sources = page.selection, page.selection.service_type, page.sources
    assets, asset_url = page.assets, page.asset_url
    st.subheader(t("Difference map", lang))
    m1, m2 = st.columns(2)
    compared_key = m1.selectbox(
        t("Scenario", lang),
        list(results)[1:],
        format_func=lambda k: run_names[k],
        key="plan_diff_scenario",
        placeholder=t("Choose an option", lang),
    )
    compared = run_names[compared_key]
    diff_metric = m2.selectbox(
        t("Metric", lang),
        views.PLAN_METRICS,
        format_func=lambda m: views.label(m, lang),
        key="plan_diff_metric",
        placeholder=t("Choose an option", lang),
    )
    difference_map = functools.partial(
        views.plan_difference_map,
        result,
        runs[compared],
        selection,
        tax,
        metric=diff_metric,
        scenario_name=compared,
        attribution=sources.attribution,
        assets=assets,
    )
    try:
        diff_parts = views.map_parts(difference_map(asset_url=asset_url))
    except SocialMapError as exc:
        st.error(t("The change could not be mapped: {error}", lang, error=plain(error_text(exc, lang))))
    else:
        # As the main map: the frame stays, only the layers change (no reload of Leaflet).
        st_folium(
            diff_parts.base,
            key="plan_diff_map",
            height=480,
            use_container_width=True,
            returned_objects=[],
            feature_group_to_add=diff_parts.layers,
            layer_control=diff_parts.control,
        )
        offer_download(
            st,
            t("Difference map (HTML, works offline)", lang),
            lambda: views.map_html_bytes(difference_map()),  # libraries inlined
            file_name=f"socialmap_change_{service_type}_{diff_metric}.html",
            mime=MIME["html"],
            key="plan_download_diff_map",
        )


def _saved_scenarios(page: Page, saved: dict[str, tuple[views.PlanEdit, ...]]) -> None:
    """Offer to delete a saved scenario."""
    lang = page.lang
    g1, g2 = st.columns([3, 1])
    forget = g1.selectbox(
        t("Saved scenario", lang),
        list(saved),
        key="plan_forget_name",
        placeholder=t("Choose an option", lang),
    )
    g2.button(t("Delete", lang), key="plan_delete", on_click=delete_scenario, args=(forget,))


def _costing(page: Page, run_names: dict[str, str], results: dict[str, Any], type_label: str) -> float | None:
    """Show the places needed to reach a standard and their yearly budget (current services or a scenario)."""
    lang, tax, result = page.lang, page.tax, page.result
    service_type = page.selection.service_type
    st.subheader(t("Costing: {type}", lang, type=type_label))
    st.caption(
        t(
            "Places needed to reach a planning standard, and their yearly budget. Where the "
            "taxonomy gives no sourced figure, enter your own: it is shown as user-supplied.",
            lang,
        )
    )
    restore_costing(service_type)
    k1, k2, k3 = st.columns(3)
    standard = k1.number_input(
        t("Standard (places per 1,000 of the target group)", lang),
        min_value=0.0,
        value=None,
        format="%g",
        key="plan_standard",
    )
    unit_cost = k2.number_input(
        t("Unit cost (EUR per place per year)", lang),
        min_value=0.0,
        value=None,
        step=100.0,
        format="%.0f",
        key="plan_unit_cost",
    )
    remember_costing(service_type, standard, unit_cost)
    costed = k3.selectbox(
        t("Services", lang),
        list(results),
        format_func=lambda k: run_names[k],
        key="plan_costed",
        placeholder=t("Choose an option", lang),
    )
    costed_result = results.get(costed, result)
    try:
        costing = views.plan_costing(
            costed_result,
            service_type,
            tax,
            standard=standard,
            unit_cost=unit_cost,
            lang=lang,
        )
    except SocialMapError as exc:
        st.error(t("The costing could not be computed: {error}", lang, error=plain(error_text(exc, lang))))
    else:
        none = t("none", lang)
        st.markdown(
            t(
                "Source of the standard: **{standard}**. Source of the unit cost: **{cost}**.",
                lang,
                standard=plain(views.source_label(costing.standard_source, lang) or none),
                cost=plain(views.source_label(costing.cost_source, lang) or none),
            )
        )
        show_table(costing.national, lang, key="plan_cost_national")
        show_table(costing.table, lang, key="plan_cost_areas")
        offer_download(
            st,
            t("Results and costing (XLSX, small counts hidden)", lang),
            lambda: views.costing_download(
                costed_result, service_type, tax, standard=standard, unit_cost=unit_cost, lang=lang
            ),
            file_name=f"socialmap_costing_{service_type}.xlsx",
            mime=MIME["xlsx"],
            key="plan_download_costing",
        )
        for note in costing.notes:
            st.info(plain(note))
    return unit_cost


def _targets(page: Page, run_names: dict[str, str], results: dict[str, Any], unit_cost: float | None) -> None:
    """Save a scenario as the action plan's targets; show them, and a municipality's action plan (DOCX)."""
    lang, tax, result = page.lang, page.tax, page.result
    service_type = page.selection.service_type
    # Targets of the action plan, from a scenario; the action plan (DOCX) of a municipality.
    st.subheader(t("Targets and action plan", lang))
    planned = [k for k in results if k != " current"]
    if not planned:
        st.caption(t("Add a new service to see what changes.", lang))
    else:
        p1, p2, p3 = st.columns(3)
        target_key = p1.selectbox(
            t("Scenario", lang),
            planned,
            format_func=lambda k: run_names[k],
            key="plan_target_scenario",
            placeholder=t("Choose an option", lang),
        )
        first_year = p2.number_input(
            t("First year of the plan", lang), 2000, 2100, 2026, step=1, key="plan_first_year"
        )
        n_years = p3.number_input(t("Years of the plan", lang), 1, 10, 3, step=1, key="plan_years")
        if st.button(t("Save as targets", lang), key="plan_save_targets", type="primary"):
            st.session_state["plan_targets"] = views.scenario_targets(
                result,
                results[target_key],
                name=run_names[target_key],
                first_year=int(first_year),
                years=int(n_years),
                service_type=service_type,
                unit_cost=unit_cost,
            )
    plan_targets = st.session_state.get("plan_targets")
    if plan_targets is not None:
        st.caption(t("Targets of {plan}: the changes by year", lang, plan=plain(plan_targets.name)))
        show_table(
            views.targets_table(plan_targets, tax, lang, areas=result.areas),
            lang,
            key="plan_targets_table",
        )
        names = views.area_options(result, lang)
        d1, d2, d3 = st.columns([2, 1, 1])
        plan_area = d1.selectbox(
            t("Municipality", lang),
            list(names),
            format_func=lambda a: names[a],
            key="plan_target_area",
            placeholder=t("Choose an option", lang),
        )
        offer_download(
            d2,
            t("Action plan of {name} (DOCX)", lang, name=names[plan_area]),
            lambda: views.action_plan_docx(result, plan_targets, tax, lang, area_id=plan_area),
            file_name=views.action_plan_name(result, plan_area, lang),
            mime=MIME["docx"],
            key="plan_download_action_plan",
        )
        offer_download(
            d3,
            t("Targets (XLSX)", lang),
            lambda: views.targets_xlsx(plan_targets, lang),
            file_name="socialmap_targets.xlsx",
            mime=MIME["xlsx"],
            key="plan_download_targets",
        )
