//! Form checks and fields shared by the deploy form and the configuration editor. The checks use
//! the same rules as the server (`switchyard_core::validate`), so a form says what is wrong
//! before it is sent.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use switchyard_core::{
    model::{Parameter, ParameterType, Placement, ResourceLimits},
    validate,
};

use crate::{
    components::{rv, rx, Rx},
    AppError,
};

/// Messages by field name, as the server names fields (`parameters.interval_ms`,
/// `environment.FOO`, `limits.memory_bytes`, …).
pub type FieldErrors = BTreeMap<String, String>;

/// One row of the environment variable editor; `row` keeps it apart from its neighbours.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvRow {
    pub row: u64,
    pub key: String,
    pub value: String,
}

pub(super) fn field_of(p: &Parameter) -> String {
    format!("parameters.{}", p.id)
}

/// What a number input holds while its text is not a number (it reports "" then).
pub const NOT_A_NUMBER: &str = "\u{1}not a number";

/// Whether the number input of an input event holds something that is not a number yet.
pub(super) fn bad_number(ev: &leptos::ev::Event) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use leptos::web_sys::js_sys::Reflect;
        ev.target()
            .and_then(|t| Reflect::get(&t, &"validity".into()).ok())
            .and_then(|v| Reflect::get(&v, &"badInput".into()).ok())
            .and_then(|b| b.as_bool())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        false
    }
}

/// What a parameter's input shows: the value entered, else its default.
pub fn shown_value(p: &Parameter, values: &BTreeMap<String, String>) -> String {
    values.get(&p.id).cloned().or_else(|| p.default.clone()).unwrap_or_default()
}

/// The parameter values to send (empty ones left out, so the server fills in defaults) and
/// what is wrong with them.
pub fn check_parameters(
    declared: &[Parameter],
    values: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, FieldErrors) {
    let mut send = BTreeMap::new();
    let mut errors = FieldErrors::new();
    for p in declared {
        let mut value = shown_value(p, values);
        if p.kind == ParameterType::Boolean && !p.is_array && value.is_empty() && !p.is_optional {
            value = "false".into();
        }
        if value == NOT_A_NUMBER {
            let what = if matches!(p.kind, ParameterType::Float | ParameterType::Double) {
                "a number"
            } else {
                "a whole number"
            };
            errors.insert(field_of(p), format!("{} must be {what}", p.name));
            continue;
        }
        if value.trim().is_empty() {
            if p.is_required() {
                errors.insert(field_of(p), format!("{} is required", p.name));
            }
            continue;
        }
        match validate::parameter_value(p, &value) {
            Ok(()) => {
                send.insert(p.id.clone(), value);
            }
            Err(e) => {
                errors.insert(e.field().map(str::to_string).unwrap_or_else(|| field_of(p)), e.to_string());
            }
        }
    }
    if errors.is_empty() {
        // Anything the per-field checks missed, exactly as the server will see it.
        if let Err(e) = validate::parameters(declared, &send) {
            errors.insert(e.field().unwrap_or("parameters").to_string(), e.to_string());
        }
    }
    (send, errors)
}

/// The field of a row's own messages (the server's are about `environment.<NAME>`).
pub fn env_field(row: &EnvRow) -> String {
    format!("environment.#{}", row.row)
}

/// The environment to send (blank rows left out) and what is wrong with it.
pub fn check_environment(rows: &[EnvRow]) -> (BTreeMap<String, String>, FieldErrors) {
    let mut send = BTreeMap::new();
    let mut errors = FieldErrors::new();
    for row in rows {
        let key = row.key.trim();
        if key.is_empty() {
            if !row.value.is_empty() {
                errors.insert(env_field(row), "give the variable a name".into());
            }
            continue;
        }
        if send.contains_key(key) {
            errors.insert(env_field(row), format!("{key} is set twice"));
            continue;
        }
        let one = BTreeMap::from([(key.to_string(), row.value.clone())]);
        match validate::environment(&one) {
            Ok(_) => {
                send.insert(key.to_string(), row.value.clone());
            }
            Err(e) => {
                errors.insert(env_field(row), e.to_string());
            }
        }
    }
    (send, errors)
}

pub(super) const MIB: u64 = 1024 * 1024;

/// The largest memory limit Docker takes (a signed 64-bit number of bytes), in MiB.
const MAX_MEMORY_MIB: u64 = i64::MAX as u64 / MIB;
/// The largest CPU limit Docker takes (a signed 64-bit number of nano-CPUs), in CPUs.
const MAX_CPUS: f64 = 9_223_372_036.0;

/// Limits from the form's memory (MiB) and CPUs; empty (or 0) means no limit of its own. The
/// messages say what is wrong: not a number, a fraction, negative, too small or too large.
pub fn check_limits(memory_mib: &str, cpus: &str) -> (ResourceLimits, FieldErrors) {
    let mut limits = ResourceLimits::default();
    let mut errors = FieldErrors::new();
    let memory_mib = memory_mib.trim();
    if !memory_mib.is_empty() {
        let problem = match memory_mib.parse::<i128>() {
            Ok(0) => None,
            Ok(m) if m < 0 => {
                Some("memory cannot be negative: give at least 4 MiB, or leave it empty for no limit".to_string())
            }
            Ok(m) if m < 4 => Some("memory must be at least 4 MiB (or empty for no limit)".to_string()),
            Ok(m) if m > MAX_MEMORY_MIB as i128 => Some(format!("memory must be at most {MAX_MEMORY_MIB} MiB")),
            Ok(m) => {
                limits.memory_bytes = m as u64 * MIB;
                None
            }
            Err(_) => Some(match memory_mib.parse::<f64>() {
                Ok(f) if f.is_finite() && f.fract() != 0.0 => {
                    "memory must be a whole number of MiB, without a fraction".to_string()
                }
                Ok(f) if f.is_finite() && f < 0.0 => {
                    "memory cannot be negative: give at least 4 MiB, or leave it empty for no limit".to_string()
                }
                Ok(f) if f.is_finite() && memory_mib.chars().all(|c| c.is_ascii_digit()) => {
                    format!("memory must be at most {MAX_MEMORY_MIB} MiB")
                }
                _ => "memory must be a number of MiB written in digits, such as 256".to_string(),
            }),
        };
        if let Some(m) = problem {
            errors.insert("limits.memory_bytes".into(), m);
        }
    }
    let cpus = cpus.trim();
    if !cpus.is_empty() {
        let problem = match cpus.parse::<f64>() {
            Ok(c) if c.is_nan() => Some("CPUs must be a number such as 0.5 or 2".into()),
            Ok(c) if !c.is_finite() || cpus.to_ascii_lowercase().contains("inf") => {
                Some(format!("CPUs must be at most {MAX_CPUS}"))
            }
            Ok(c) if c < 0.0 => {
                Some("CPUs cannot be negative: give at least 0.01, or leave it empty for no limit".into())
            }
            // Not negative (above), so zero: no limit of its own.
            Ok(c) if c < f64::MIN_POSITIVE => None,
            Ok(c) if c < 0.01 => Some("CPUs must be at least 0.01 (or empty for no limit)".into()),
            Ok(c) if c > MAX_CPUS => Some(format!("CPUs must be at most {MAX_CPUS}")),
            Ok(c) => {
                limits.nano_cpus = (c * 1e9).round() as u64;
                None
            }
            Err(_) => Some("CPUs must be a number such as 0.5 or 2".into()),
        };
        if let Some(m) = problem {
            errors.insert("limits.nano_cpus".into(), m);
        }
    }
    (limits, errors)
}

/// The message for a process name, if it is not acceptable (an empty name takes the default).
pub fn check_name(name: &str, may_be_empty: bool) -> FieldErrors {
    let mut errors = FieldErrors::new();
    if !(may_be_empty && name.trim().is_empty()) {
        if let Err(e) = validate::process_name(name) {
            errors.insert("name".into(), e.to_string());
        }
    }
    errors
}

/// Placement from the form's choice: `automatic`, `node:<id>` or `pool:<id>`.
pub fn placement_of(choice: &str) -> Placement {
    if let Some(id) = choice.strip_prefix("node:") {
        Placement::PrivateNode { node_id: id.to_string() }
    } else if let Some(id) = choice.strip_prefix("pool:") {
        Placement::NodePool { pool_id: id.to_string() }
    } else {
        Placement::Automatic
    }
}

/// The errors a form shows: the server's about one field until that field changes, and the
/// client's once a field has been changed or the form submitted.
#[derive(Clone, Copy)]
pub(super) struct FormErrors {
    pub(super) client: Memo<FieldErrors>,
    pub(super) server: RwSignal<Option<AppError>>,
    pub(super) touched: RwSignal<BTreeSet<String>>,
    pub(super) submitted: RwSignal<bool>,
}

impl FormErrors {
    pub(super) fn new(client: Memo<FieldErrors>) -> Self {
        Self {
            client,
            server: RwSignal::new(None),
            touched: RwSignal::new(BTreeSet::new()),
            submitted: RwSignal::new(false),
        }
    }

    pub(super) fn get(&self, field: &str) -> Option<String> {
        if let Some(m) = self.server.with(|e| e.as_ref().and_then(|e| e.for_field(field))) {
            return Some(m);
        }
        if self.submitted.get() || self.touched.with(|t| t.contains(field)) {
            self.client.with(|c| c.get(field).cloned())
        } else {
            None
        }
    }

    /// The first message about any field starting with `prefix`.
    pub(super) fn get_prefixed(&self, prefix: &str) -> Option<String> {
        if let Some(m) = self.server.with(|e| {
            e.as_ref().filter(|e| e.field.as_deref().is_some_and(|f| f.starts_with(prefix))).map(|e| e.message.clone())
        }) {
            return Some(m);
        }
        None
    }

    /// `aria-invalid` of a field's input.
    pub(super) fn invalid(&self, field: &str) -> Rx<Option<&'static str>> {
        let (errors, field) = (*self, field.to_string());
        rx(move || errors.get(&field).is_some().then_some("true"))
    }

    pub(super) fn touch(&self, field: &str) {
        if !self.touched.with_untracked(|t| t.contains(field)) {
            self.touched.update(|t| {
                t.insert(field.to_string());
            });
        }
        if self.server.with_untracked(|e| e.as_ref().is_some_and(|e| e.field.as_deref() == Some(field))) {
            self.server.set(None);
        }
    }
}

fn dom_id(field: &str) -> String {
    field.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect()
}

/// The id of a field's message (in the page only while there is one).
pub(super) fn error_id(field: &str) -> String {
    format!("{}-error", dom_id(field))
}

/// A field's `aria-describedby`: its hint (if it has one) and its message while there is one,
/// so that it names only elements that are in the page.
pub(super) fn described_by(errors: FormErrors, field: &str, hint: Option<&str>) -> Rx<Option<String>> {
    let (field, error, hint) = (field.to_string(), error_id(field), hint.map(str::to_string));
    rx(move || {
        let mut ids: Vec<String> = hint.iter().cloned().collect();
        if errors.get(&field).is_some() {
            ids.push(error.clone());
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    })
}

/// After a refused submit, once its messages are drawn: the focus goes to the first field the
/// form marks invalid (a closed `<details>` around it is opened), else to its first message
/// that can take the focus (`data-form-alert`).
pub(super) fn focus_first_error(form: NodeRef<leptos::html::Form>) {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        use leptos::wasm_bindgen::JsCast;
        let Some(form) = form.get_untracked() else { return };
        let found = |selector: &str| form.query_selector(selector).ok().flatten();
        let Some(el) = found("[aria-invalid=\"true\"]").or_else(|| found("[data-form-alert]")) else { return };
        if let Ok(Some(details)) = el.closest("details") {
            let _ = details.set_attribute("open", "");
        }
        if let Some(el) = el.dyn_ref::<leptos::web_sys::HtmlElement>() {
            let _ = el.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = form;
}

/// A field's message under it, announced when it appears.
#[component]
pub(super) fn FieldMessage(errors: FormErrors, field: String) -> impl IntoView {
    let id = error_id(&field);
    let f = field.clone();
    rv(move || {
        errors
            .get(&f)
            .map(|m| view! { <span class="field-error" id=id.clone() role="alert" data-field=field.clone()>{m}</span> })
    })
}

fn type_hint(p: &Parameter) -> String {
    use ParameterType as T;
    let (one, many) = match p.kind {
        T::Boolean => ("true or false", "true/false values"),
        T::Byte | T::Short | T::Integer | T::Long => ("a whole number", "whole numbers"),
        T::Float | T::Double => ("a number", "numbers"),
        T::Character => ("one character", "single characters"),
        T::String => ("text", "texts"),
    };
    let mut hint = if p.is_array {
        format!(
            "Comma-separated list of {many}, e.g. {}",
            match p.kind {
                T::Boolean => "true, false",
                T::Byte | T::Short | T::Integer | T::Long => "1, 2, 3",
                T::Float | T::Double => "0.5, 1.5",
                T::Character => "a, b",
                T::String => "one, two",
            }
        )
    } else if p.values.as_ref().is_some_and(|v| !v.is_empty()) {
        String::new()
    } else {
        let mut h = one.to_string();
        h[..1].make_ascii_uppercase();
        h
    };
    if let Some(values) = p.values.as_ref().filter(|v| !v.is_empty() && p.is_array) {
        hint.push_str(&format!("; allowed: {}", values.join(", ")));
    }
    if let Some(d) = &p.default {
        if !hint.is_empty() {
            hint.push_str(". ");
        }
        hint.push_str(&format!("Default: {}", if d.is_empty() { "(empty)" } else { d }));
    }
    hint
}

fn number_limits(kind: ParameterType) -> Option<(&'static str, Option<&'static str>, Option<&'static str>)> {
    use ParameterType as T;
    match kind {
        T::Byte => Some(("1", Some("-128"), Some("127"))),
        T::Short => Some(("1", Some("-32768"), Some("32767"))),
        T::Integer => Some(("1", Some("-2147483648"), Some("2147483647"))),
        T::Long => Some(("1", None, None)),
        T::Float | T::Double => Some(("any", None, None)),
        _ => None,
    }
}

/// The input for one declared parameter, chosen by its type, with its hint (what it is for,
/// when its label says, then its type and default) tied to it.
#[component]
fn ParameterField(p: Parameter, values: RwSignal<BTreeMap<String, String>>, errors: FormErrors) -> impl IntoView {
    let field = field_of(&p);
    let input_id = format!("param-{}", dom_id(&p.id));
    let hint_id = format!("{input_id}-hint");
    // A parameter with a default is not required of the user: the default fills it.
    let required = p.is_required();
    let hint = type_hint(&p);
    let description = p.description.clone().filter(|d| !d.trim().is_empty());
    let has_hint = !hint.is_empty() || description.is_some();
    let described = described_by(errors, &field, has_hint.then_some(hint_id.as_str()));
    // The inputs belong to the browser once shown (a number input reports "" while its text
    // is not a number yet, which must not be written back); they start from these values.
    let shown = values.with_untracked(|v| shown_value(&p, v));
    let set = {
        let (id, field) = (p.id.clone(), field.clone());
        move |value: String| {
            values.update(|v| {
                v.insert(id.clone(), value);
            });
            errors.touch(&field);
        }
    };
    let invalid = errors.invalid(&field);
    let label = view! {
        <span>{p.name.clone()}{required.then(|| view! { <span class="required" title="required">" *"</span> })}</span>
    };
    let id_line = view! { <code class="muted small param-id">{p.id.clone()}</code> };
    let input = if p.kind == ParameterType::Boolean && !p.is_array {
        view! {
            <label class="check" for=input_id.clone()>
                <input type="checkbox" id=input_id.clone() name=field.clone()
                    prop:checked=shown == "true"
                    aria-describedby=described aria-invalid=invalid
                    on:change=move |ev| set(if event_target_checked(&ev) { "true".into() } else { "false".into() })/>
                {label}
                {id_line}
            </label>
        }
        .into_any()
    } else if let Some(options) = p.values.clone().filter(|v| !v.is_empty() && !p.is_array) {
        let labels = p.labels.clone().unwrap_or_default();
        let text_of = move |i: usize, v: &str| -> String {
            // The label, with the value only when it says something else.
            match labels.get(i).filter(|l| !l.is_empty()) {
                Some(l) if l.eq_ignore_ascii_case(v) => l.clone(),
                Some(l) => format!("{l} ({v})"),
                None => v.to_string(),
            }
        };
        // Left empty, an optional choice is not sent: the default (if any) applies.
        let placeholder = match &p.default {
            _ if required => "Choose…".to_string(),
            Some(d) => format!(
                "(default: {})",
                options.iter().position(|v| v == d).map(|i| text_of(i, d)).unwrap_or_else(|| d.clone())
            ),
            None => "(not set)".to_string(),
        };
        view! {
            <label for=input_id.clone()>{label} {id_line}</label>
            <select id=input_id.clone() name=field.clone() aria-required=required.then_some("true")
                aria-describedby=described aria-invalid=invalid
                on:change=move |ev| set(event_target_value(&ev))>
                <option value="" selected=shown.is_empty()>{placeholder}</option>
                {options.iter().enumerate().map(|(i, v)| {
                    let is = shown == *v;
                    view! { <option value=v.clone() selected=is>{text_of(i, v)}</option> }
                }).collect_view()}
            </select>
        }
        .into_any()
    } else {
        let number = if p.is_array { None } else { number_limits(p.kind) };
        let (kind, step, min, max) = match number {
            Some((step, min, max)) => ("number", Some(step), min, max),
            None => ("text", None, None, None),
        };
        let maxlength = (p.kind == ParameterType::Character && !p.is_array).then_some("1");
        // Cleared, the field shows the default it falls back on.
        let placeholder = p.default.clone().filter(|d| !d.is_empty()).map(|d| format!("default: {d}"));
        view! {
            <label for=input_id.clone()>{label} {id_line}</label>
            <input type=kind id=input_id.clone() name=field.clone() step=step min=min max=max maxlength=maxlength
                placeholder=placeholder aria-required=required.then_some("true")
                aria-describedby=described aria-invalid=invalid
                prop:value=shown.clone()
                on:input=move |ev| set(if bad_number(&ev) { NOT_A_NUMBER.to_string() } else { event_target_value(&ev) })/>
        }
        .into_any()
    };
    view! {
        <div class="field" data-parameter=p.id.clone()>
            {input}
            {has_hint.then(|| view! {
                <span class="hint" id=hint_id>
                    {description.map(|d| view! { <span class="param-description" data-description="">{d}</span> })}
                    {(!hint.is_empty()).then(|| view! { <span class="param-type">{hint}</span> })}
                </span>
            })}
            <FieldMessage errors field=field.clone()/>
        </div>
    }
    .into_any()
}

/// The generated inputs of a service version's parameters.
#[component]
pub(super) fn ParameterFields(
    declared: Vec<Parameter>,
    values: RwSignal<BTreeMap<String, String>>,
    errors: FormErrors,
) -> impl IntoView {
    if declared.is_empty() {
        return view! { <p class="muted">"This service version has no parameters."</p> }.into_any();
    }
    declared.into_iter().map(|p| view! { <ParameterField p values errors/> }).collect_view().into_any()
}

/// Free environment variables as name/value rows.
#[component]
pub(super) fn EnvironmentRows(
    rows: RwSignal<Vec<EnvRow>>,
    next_row: StoredValue<u64>,
    errors: FormErrors,
) -> impl IntoView {
    let add = move |_| {
        let row = next_row.get_value();
        next_row.set_value(row + 1);
        rows.update(|r| r.push(EnvRow { row, ..Default::default() }));
    };
    let key_of =
        move |row: u64| rows.with(|r| r.iter().find(|x| x.row == row).map(|x| x.key.clone()).unwrap_or_default());
    let value_of =
        move |row: u64| rows.with(|r| r.iter().find(|x| x.row == row).map(|x| x.value.clone()).unwrap_or_default());
    let server_field = move |row: u64| format!("environment.{}", key_of(row).trim());
    let row_field = move |row: u64| format!("environment.#{row}");
    // The server's message about the row's name, else the form's own about the row.
    let message = move |row: u64| {
        errors
            .server
            .with(|e| e.as_ref().and_then(|e| e.for_field(&server_field(row))))
            .or_else(|| errors.get(&row_field(row)))
    };
    view! {
        <div class="stack-tight">
            <For each=move || rows.get() key=|r| r.row let:r>
                {
                    let row = r.row;
                    let n = move || rows.with(|all| all.iter().position(|x| x.row == row).map(|i| i + 1).unwrap_or(0));
                    view! {
                        <div class="env-row" data-env-row=row>
                            <label>
                                <span class="visually-hidden">{rx(move || format!("Name of variable {}", n()))}</span>
                                <input class="mono" placeholder="NAME" autocomplete="off" spellcheck="false"
                                    prop:value=rx(move || key_of(row))
                                    aria-invalid=rx(move || message(row).is_some().then_some("true"))
                                    aria-describedby=rx(move || message(row).is_some().then(|| format!("env-{row}-error")))
                                    on:input=move |ev| {
                                        errors.touch(&server_field(row));
                                        rows.update(|all| if let Some(x) = all.iter_mut().find(|x| x.row == row) { x.key = event_target_value(&ev) });
                                        errors.touch(&row_field(row));
                                    }/>
                            </label>
                            <label>
                                <span class="visually-hidden">{rx(move || format!("Value of variable {}", n()))}</span>
                                <input placeholder="value" autocomplete="off"
                                    prop:value=rx(move || value_of(row))
                                    on:input=move |ev| {
                                        rows.update(|all| if let Some(x) = all.iter_mut().find(|x| x.row == row) { x.value = event_target_value(&ev) });
                                        errors.touch(&server_field(row));
                                        errors.touch(&row_field(row));
                                    }/>
                            </label>
                            <button type="button" class="small"
                                aria-label=rx(move || format!("Remove variable {}", { let k = key_of(row); if k.is_empty() { n().to_string() } else { k } }))
                                on:click=move |_| rows.update(|all| all.retain(|x| x.row != row))>"Remove"</button>
                            {rv(move || message(row).map(|m| view! { <span class="field-error env-error" id=format!("env-{row}-error") role="alert" data-field=server_field(row)>{m}</span> }))}
                        </div>
                    }
                    .into_any()
                }
            </For>
            {rv(move || rows.with(|r| r.is_empty()).then(|| view! { <p class="muted small">"No variables."</p> }))}
            <div><button type="button" class="small" data-add-env="" on:click=add>"Add variable"</button></div>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(id: &str, kind: ParameterType, optional: bool, default: Option<&str>) -> Parameter {
        Parameter {
            id: id.into(),
            name: id.into(),
            kind,
            is_array: false,
            is_optional: optional,
            values: None,
            labels: None,
            default: default.map(String::from),
            description: None,
        }
    }

    #[test]
    fn parameters_are_checked_per_field() {
        let declared = vec![
            param("interval_ms", ParameterType::Integer, false, Some("1000")),
            param("unit", ParameterType::String, false, None),
            param("verbose", ParameterType::Boolean, false, None),
        ];
        let mut values = BTreeMap::new();
        let (send, errors) = check_parameters(&declared, &values);
        assert_eq!(errors.keys().collect::<Vec<_>>(), vec!["parameters.unit"]);
        assert_eq!(send.get("interval_ms").map(String::as_str), Some("1000"));
        values.insert("interval_ms".to_string(), "fast".to_string());
        values.insert("unit".to_string(), "C".to_string());
        let (_, errors) = check_parameters(&declared, &values);
        assert!(errors["parameters.interval_ms"].contains("whole number"), "{errors:?}");
        values.insert("interval_ms".to_string(), "250".to_string());
        let (send, errors) = check_parameters(&declared, &values);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(send.get("verbose").map(String::as_str), Some("false"));
        assert!(validate::parameters(&declared, &send).is_ok());
        values.insert("interval_ms".to_string(), NOT_A_NUMBER.to_string());
        let (_, errors) = check_parameters(&declared, &values);
        assert_eq!(errors["parameters.interval_ms"], "interval_ms must be a whole number");
    }

    #[test]
    fn environment_rows_are_checked() {
        let row = |row, key: &str, value: &str| EnvRow { row, key: key.into(), value: value.into() };
        let (send, errors) = check_environment(&[row(0, " FOO ", "1"), row(1, "", "")]);
        assert!(errors.is_empty());
        assert_eq!(send.get("FOO").map(String::as_str), Some("1"));
        let (_, errors) =
            check_environment(&[row(0, "FOO", "1"), row(1, "FOO", "2"), row(2, "", "x"), row(3, "1X", "")]);
        assert_eq!(errors.keys().collect::<Vec<_>>(), vec!["environment.#1", "environment.#2", "environment.#3"]);
        assert_eq!(errors["environment.#1"], "FOO is set twice");
        let (_, errors) = check_environment(&[row(0, "PROCESS_ID", "x")]);
        assert!(errors["environment.#0"].contains("set by Switchyard"));
    }

    #[test]
    fn limits_are_converted() {
        let (l, e) = check_limits("64", "0.5");
        assert!(e.is_empty());
        assert_eq!(l.memory_bytes, 64 * MIB);
        assert_eq!(l.nano_cpus, 500_000_000);
        assert!(check_limits("2", "").1.contains_key("limits.memory_bytes"));
        assert!(check_limits("", "lots").1.contains_key("limits.nano_cpus"));
        assert!(check_limits(NOT_A_NUMBER, "").1.contains_key("limits.memory_bytes"));
        assert_eq!(check_limits("", "").0, ResourceLimits::default());
        let memory = |m: &str| check_limits(m, "").1.get("limits.memory_bytes").cloned().unwrap_or_default();
        let cpus = |c: &str| check_limits("", c).1.get("limits.nano_cpus").cloned().unwrap_or_default();
        assert!(memory("-5").contains("cannot be negative"), "{}", memory("-5"));
        assert!(memory("2").contains("at least 4 MiB"));
        assert!(memory("1.5").contains("without a fraction"));
        assert!(memory("99999999999999999999999999999999999999999").contains("at most"));
        assert!(memory("lots").contains("such as 256"));
        assert!(check_limits("0", "0").1.is_empty());
        assert!(cpus("-1").contains("cannot be negative"));
        assert!(cpus("0.001").contains("at least 0.01"));
        assert!(cpus("1e12").contains("at most"));
        assert!(cpus("NaN").contains("a number such as"));
    }

    #[test]
    fn placements_are_read() {
        assert_eq!(placement_of("automatic"), Placement::Automatic);
        assert_eq!(placement_of("pool:abc"), Placement::NodePool { pool_id: "abc".into() });
        assert_eq!(placement_of("node:def"), Placement::PrivateNode { node_id: "def".into() });
    }
}
