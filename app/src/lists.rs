//! What the lists share: the view in the URL (search, filters, sort, page) and its links, the
//! pager, sortable column headers, the bar of a selection's actions, the one confirmation that
//! lists what a bulk action will do to each item, and the summary of what it did.
//!
//! A list's whole view lives in its URL query, so it can be shared and survives a reload; the
//! links here keep every other parameter and go back to page 1 when a filter or the order
//! changes. The server functions check the parameters ([`paging`], [`sort_param`]) and say what
//! they corrected, so a hand-made URL never fails silently.

use leptos::prelude::*;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

use crate::components::{rv, rx};

/// The page sizes the lists offer (a URL may ask for any size from 1 to [`MAX_PER`]).
pub const PER_CHOICES: [u64; 3] = [25, 50, 100];
pub const DEFAULT_PER: u64 = 25;
pub const MAX_PER: u64 = 100;

/// Percent-encode a query value (everything but the unreserved characters).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `path?k=v&…` of the non-empty pairs.
pub fn href(path: &str, pairs: &[(&str, String)]) -> String {
    let query: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", escape(v))).collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// `pairs` with `key` set to `value` (removed when empty).
pub fn with(pairs: &[(&'static str, String)], key: &'static str, value: &str) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = pairs.iter().filter(|(k, _)| *k != key).cloned().collect();
    if !value.is_empty() {
        out.push((key, value.to_string()));
    }
    out
}

/// The page and page size a URL asks for, checked: nonsense is replaced by the default and
/// said so in the returned notices.
pub fn paging(page: &str, per: &str) -> (u64, u64, Vec<String>) {
    let mut notices = Vec::new();
    let per = match per.trim() {
        "" => DEFAULT_PER,
        p => match p.parse::<u64>() {
            Ok(n) if (1..=MAX_PER).contains(&n) => n,
            _ => {
                notices.push(format!(
                    "The page size must be a whole number from 1 to {MAX_PER} (not “{}”): showing {DEFAULT_PER} a page.",
                    short(p)
                ));
                DEFAULT_PER
            }
        },
    };
    let page = match page.trim() {
        "" => 1,
        p => match p.parse::<u64>() {
            Ok(n) if n >= 1 => n,
            _ => {
                notices.push(format!("The page must be a whole number from 1 (not “{}”): showing page 1.", short(p)));
                1
            }
        },
    };
    (page, per, notices)
}

/// The sort a URL asks for (`field` or `-field`, `field` one of `allowed`'s URL names) as the
/// store's sort (`allowed`'s field) and as the URL says it; an unknown one is replaced by
/// `default` (a URL sort) with a notice.
pub fn sort_param(raw: &str, allowed: &[(&str, &str)], default: &str, notices: &mut Vec<String>) -> (String, String) {
    let resolve = |s: &str| {
        let (name, desc) = match s.strip_prefix('-') {
            Some(n) => (n, true),
            None => (s, false),
        };
        allowed.iter().find(|(url, _)| *url == name).map(|(_, field)| {
            let sign = if desc { "-" } else { "" };
            (format!("{sign}{field}"), format!("{sign}{name}"))
        })
    };
    let raw = raw.trim();
    if !raw.is_empty() {
        if let Some(found) = resolve(raw) {
            return found;
        }
        let names: Vec<&str> = allowed.iter().map(|(u, _)| *u).collect();
        notices.push(format!(
            "Cannot sort by “{}”; the list sorts by {} (add “-” before one for the reverse order).",
            short(raw),
            names.join(", ")
        ));
    }
    resolve(default).unwrap_or_else(|| (default.to_string(), default.to_string()))
}

/// At most 40 characters of what a URL said, for a message.
fn short(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// What a bulk action did to one item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    Done(String),
    Skipped(String),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemOutcome {
    pub id: String,
    pub name: String,
    pub outcome: Outcome,
}

/// The answer of a bulk action: what was asked (e.g. "Suspend") and what became of each item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BulkReport {
    pub action: String,
    pub items: Vec<ItemOutcome>,
}

impl BulkReport {
    pub fn count(&self) -> (usize, usize, usize) {
        self.items.iter().fold((0, 0, 0), |(d, s, f), i| match i.outcome {
            Outcome::Done(_) => (d + 1, s, f),
            Outcome::Skipped(_) => (d, s + 1, f),
            Outcome::Failed(_) => (d, s, f + 1),
        })
    }
}

/// What a bulk action will do to one item, as its confirmation lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanLine {
    pub id: String,
    pub name: String,
    /// E.g. "suspend, its state is saved" or "already suspended — skipped".
    pub what: String,
    pub skip: bool,
}

/// The most ids a bulk action takes at once (a page holds at most [`MAX_PER`]).
pub const MAX_BULK: usize = MAX_PER as usize;

/// The ids of a bulk action, checked: not empty, not too many, each once.
pub fn bulk_ids(ids: Vec<String>) -> Result<Vec<String>, crate::AppError> {
    let mut seen = std::collections::BTreeSet::new();
    let ids: Vec<String> = ids.into_iter().filter(|id| seen.insert(id.clone())).collect();
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(crate::AppError {
            code: "validation_failed".into(),
            message: format!("choose from 1 to {MAX_BULK} items"),
            field: None,
        });
    }
    Ok(ids)
}

/// "Previous · Page n of m · Next" with "a–b of total", keeping the other parameters.
#[component]
pub fn ListPager(
    path: &'static str,
    /// The view's parameters without `page`.
    pairs: Vec<(&'static str, String)>,
    page: u64,
    pages: u64,
    per_page: u64,
    total: u64,
    /// How many rows this page shows.
    shown: usize,
    /// What the rows are, e.g. "processes".
    noun: &'static str,
) -> impl IntoView {
    let first = (page - 1).saturating_mul(per_page) + 1;
    let range = if shown == 0 {
        format!("0 of {total} {noun}")
    } else {
        format!("{first}–{} of {total} {noun}", first + shown as u64 - 1)
    };
    let link = move |p: u64| href(path, &with(&pairs, "page", &if p == 1 { String::new() } else { p.to_string() }));
    view! {
        <nav class="pager list-pager" aria-label=format!("Pages of {noun}")>
            <span class="muted" data-range="">{range}</span>
            {if page > 1 {
                view! { <A href=link(page - 1) attr:rel="prev" attr:data-pager="previous"><span aria-hidden="true">"← "</span>"Previous"</A> }.into_any()
            } else {
                view! { <span class="muted" aria-hidden="true">"← Previous"</span> }.into_any()
            }}
            <span data-page-of="" aria-current="page">{format!("Page {page} of {pages}")}</span>
            {if page < pages {
                view! { <A href=link(page + 1) attr:rel="next" attr:data-pager="next">"Next"<span aria-hidden="true">" →"</span></A> }.into_any()
            } else {
                view! { <span class="muted" aria-hidden="true">"Next →"</span> }.into_any()
            }}
        </nav>
    }
}

/// A column header that sorts the list by its field: a link to the view sorted by it (the reverse
/// order when it is sorted by it already), with `aria-sort` saying how it is sorted now.
#[component]
pub fn SortHeader(
    label: &'static str,
    /// The field's name in the URL.
    field: &'static str,
    /// The URL's sort now (`field` or `-field`).
    current: String,
    path: &'static str,
    /// The view's parameters without `sort` and `page`.
    pairs: Vec<(&'static str, String)>,
) -> impl IntoView {
    let (sorted, descending) = match current.strip_prefix('-') {
        Some(f) => (f == field, true),
        None => (current == field, false),
    };
    let next = if sorted && !descending { format!("-{field}") } else { field.to_string() };
    let aria = sorted.then_some(if descending { "descending" } else { "ascending" });
    let arrow = if !sorted {
        "↕"
    } else if descending {
        "↓"
    } else {
        "↑"
    };
    let hint = if sorted && !descending { "sort in reverse order" } else { "sort by this column" };
    view! {
        <th aria-sort=aria data-sort=field>
            <A href=href(path, &with(&pairs, "sort", &next)) attr:class="sort-link" attr:title=hint>
                {label}<span class="sort-arrow" aria-hidden="true">{arrow}</span>
            </A>
        </th>
    }
}

/// Go to the list's view with one parameter changed (and back to page 1), replacing the history
/// entry: a filter as it is typed or chosen. `pairs` is the view now.
pub fn navigator(path: &'static str, pairs: Signal<Vec<(&'static str, String)>>) -> Callback<(&'static str, String)> {
    let navigate = leptos_router::hooks::use_navigate();
    Callback::new(move |(key, value): (&'static str, String)| {
        let now = pairs.get_untracked();
        let next = with(&with(&now, key, &value), "page", "");
        navigate(
            &href(path, &next),
            leptos_router::NavigateOptions { replace: true, scroll: false, ..Default::default() },
        );
    })
}

/// The search box of a list's toolbar (`q`): the list follows as one types (after a short
/// pause); it follows the URL in turn (back, a link), except while it is being typed in.
#[component]
pub fn SearchBox(
    label: &'static str,
    placeholder: &'static str,
    current: Signal<String>,
    on_search: Callback<String>,
) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        let q = current.get();
        if let Some(el) = input.get() {
            let element: &leptos::web_sys::Element = el.as_ref();
            let focused = document().active_element().is_some_and(|e| &e == element);
            if !focused && el.value() != q {
                el.set_value(&q);
            }
        }
    });
    let typed = RwSignal::new(0u32);
    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        typed.update(|n| *n += 1);
        let mine = typed.get_untracked();
        set_timeout(
            move || {
                if typed.get_untracked() == mine {
                    on_search.run(value);
                }
            },
            std::time::Duration::from_millis(300),
        );
    };
    view! {
        <span class="filter-field grow">
            <label for="filter-q">{label}</label>
            <input id="filter-q" type="search" name="q" placeholder=placeholder autocomplete="off"
                value=current.get_untracked() node_ref=input on:input=on_input/>
        </span>
    }
}

/// A labelled `<select>` of a list's toolbar; `on_change` gets the chosen value.
#[component]
pub fn FilterSelect(
    label: &'static str,
    name: &'static str,
    /// (value, text); the first is usually ("", "All …").
    options: Vec<(String, String)>,
    current: Signal<String>,
    on_change: Callback<String>,
) -> impl IntoView {
    let id = format!("filter-{name}");
    view! {
        <span class="filter-field">
            <label for=id.clone()>{label}</label>
            <select id=id name=name on:change=move |ev| on_change.run(event_target_value(&ev))>
                {options.into_iter().map(|(value, text)| {
                    let v = value.clone();
                    view! { <option value=value selected=rx(move || current.get() == v)>{text}</option> }
                }).collect_view()}
            </select>
        </span>
    }
}

/// The page size choice (25, 50, 100; another size the URL asked for stays offered).
pub fn per_options(current: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = PER_CHOICES.iter().map(|n| (n.to_string(), format!("{n} a page"))).collect();
    if let Ok(n) = current.parse::<u64>() {
        if (1..=MAX_PER).contains(&n) && !PER_CHOICES.contains(&n) {
            out.insert(0, (n.to_string(), format!("{n} a page")));
        }
    }
    out
}

/// The bar a selection brings up: how many are selected, the actions, and a way to clear it.
#[component]
pub fn SelectionBar(
    count: Signal<usize>,
    /// (button text, action key, dangerous).
    actions: Vec<(&'static str, &'static str, bool)>,
    on_action: Callback<&'static str>,
    on_clear: Callback<()>,
    /// What the items are, e.g. "processes".
    noun: &'static str,
    node_ref: NodeRef<leptos::html::Div>,
) -> impl IntoView {
    view! {
        <div class="bulk-bar" role="region" aria-label=format!("Selected {noun}") tabindex="-1" node_ref=node_ref
            data-bulk-bar="" hidden=rx(move || count.get() == 0)>
            <span class="bulk-count" aria-live="polite" data-selected=rx(move || count.get().to_string())>
                {rx(move || format!("{} selected", count.get()))}
            </span>
            {actions.into_iter().map(|(text, key, danger)| view! {
                <button type="button" class=if danger { "small danger" } else { "small" } data-bulk=key
                    on:click=move |_| on_action.run(key)>{text}</button>
            }).collect_view()}
            <button type="button" class="small link" on:click=move |_| on_clear.run(())>"Clear selection"</button>
        </div>
    }
}

/// The one confirmation of a bulk action, in the page: what will happen to each item, then
/// Confirm or Cancel. Focus moves into it when it opens; Escape cancels.
#[component]
pub fn ConfirmPanel(
    title: String,
    lines: Vec<PlanLine>,
    confirm_label: String,
    danger: bool,
    busy: Signal<bool>,
    error: Signal<Option<String>>,
    on_confirm: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let heading = NodeRef::<leptos::html::H2>::new();
    Effect::new(move |_| {
        if let Some(h) = heading.get() {
            let _ = h.focus();
        }
    });
    let nothing = lines.iter().all(|l| l.skip);
    let todo = lines.iter().filter(|l| !l.skip).count();
    view! {
        <div class="card confirm-panel" role="dialog" aria-labelledby="bulk-confirm-title" aria-describedby="bulk-confirm-what"
            data-confirm="" on:keydown=move |ev| if ev.key() == "Escape" { ev.prevent_default(); on_cancel.run(()) }>
            <h2 class="h3" id="bulk-confirm-title" tabindex="-1" node_ref=heading>{title}</h2>
            <p id="bulk-confirm-what" class="muted">
                {if nothing {
                    "None of them can be changed this way; nothing will be done.".to_string()
                } else {
                    format!("{todo} will be changed; the others are left as they are.")
                }}
            </p>
            <ul class="plan">
                {lines.into_iter().map(|l| {
                    let key = l.name.clone();
                    view! {
                        <li data-plan-item=key data-skip=l.skip.to_string() class:skip=l.skip>
                            <strong>{l.name}</strong>": "{l.what}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {rv(move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> }))}
            <div class="actions">
                <button type="button" class=if danger { "danger" } else { "primary" } data-confirm-go=""
                    disabled=rx(move || nothing || busy.get()) on:click=move |_| on_confirm.run(())>
                    {rx(move || if busy.get() { "Working…".to_string() } else { confirm_label.clone() })}
                </button>
                <button type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button>
            </div>
        </div>
    }
}

/// What a bulk action did, item by item: done, skipped (why) or failed (why).
#[component]
pub fn BulkSummary(report: BulkReport, node_ref: NodeRef<leptos::html::Div>) -> impl IntoView {
    let (done, skipped, failed) = report.count();
    let mut parts = vec![format!("{done} done")];
    if skipped > 0 {
        parts.push(format!("{skipped} skipped"));
    }
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    let class = if failed > 0 { "card bulk-summary has-failures" } else { "card bulk-summary" };
    view! {
        <div class=class role="status" tabindex="-1" node_ref=node_ref data-bulk-summary=""
            data-done=done.to_string() data-skipped=skipped.to_string() data-failed=failed.to_string()>
            <h2 class="h3">{format!("{}: {}", report.action, parts.join(", "))}</h2>
            <ul class="plan">
                {report.items.into_iter().map(|i| {
                    let (word, class, why) = match i.outcome {
                        Outcome::Done(w) => ("done", "outcome-done", w),
                        Outcome::Skipped(w) => ("skipped", "outcome-skipped", w),
                        Outcome::Failed(w) => ("failed", "outcome-failed", w),
                    };
                    let key = i.name.clone();
                    view! {
                        <li data-outcome=word data-item=key class=class>
                            <strong>{i.name}</strong>{format!(": {word}")}{(!why.is_empty()).then(|| format!(" — {why}"))}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_takes_sizes_from_1_to_100_and_says_what_it_corrected() {
        assert_eq!(paging("", ""), (1, 25, vec![]));
        assert_eq!(paging("3", "2"), (3, 2, vec![]));
        let (page, per, notices) = paging("0", "5000");
        assert_eq!((page, per, notices.len()), (1, 25, 2));
        assert!(notices[0].contains("from 1 to 100"), "{notices:?}");
        let (_, per, notices) = paging("x", "-1");
        assert_eq!((per, notices.len()), (25, 2));
    }

    #[test]
    fn sorts_are_mapped_to_fields_and_unknown_ones_replaced() {
        let allowed = [("name", "name"), ("service", "service_id"), ("created", "created")];
        let mut notices = vec![];
        assert_eq!(
            sort_param("-service", &allowed, "-created", &mut notices),
            ("-service_id".into(), "-service".into())
        );
        assert_eq!(sort_param("", &allowed, "-created", &mut notices), ("-created".into(), "-created".into()));
        assert!(notices.is_empty());
        assert_eq!(sort_param("password", &allowed, "-created", &mut notices), ("-created".into(), "-created".into()));
        assert_eq!(notices.len(), 1);
    }

    #[test]
    fn links_keep_the_other_parameters_and_encode_values() {
        let pairs = vec![("q", "a b&c".to_string()), ("state", String::new()), ("page", "2".to_string())];
        assert_eq!(href("/processes", &with(&pairs, "page", "")), "/processes?q=a%20b%26c");
        assert_eq!(href("/processes", &with(&pairs, "sort", "-name")), "/processes?q=a%20b%26c&page=2&sort=-name");
        assert_eq!(href("/x", &[]), "/x");
    }

    #[test]
    fn bulk_ids_are_checked() {
        assert!(bulk_ids(vec![]).is_err());
        assert_eq!(bulk_ids(vec!["a".into(), "b".into(), "a".into()]).unwrap(), vec!["a", "b"]);
        assert!(bulk_ids((0..101).map(|i| i.to_string()).collect()).is_err());
    }
}
