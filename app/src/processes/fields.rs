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
            if p.default.is_none() && !p.is_optional {
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

/// Limits from the form's memory (MiB) and CPUs; empty means no limit of its own.
pub fn check_limits(memory_mib: &str, cpus: &str) -> (ResourceLimits, FieldErrors) {
    let mut limits = ResourceLimits::default();
    let mut errors = FieldErrors::new();
    let memory_mib = memory_mib.trim();
    if !memory_mib.is_empty() {
        match memory_mib.parse::<u64>() {
            Ok(0) => {}
            Ok(m) if m < 4 => {
                errors.insert("limits.memory_bytes".into(), "a memory limit must be at least 4 MiB".into());
            }
            Ok(m) if m.checked_mul(MIB).is_none() => {
                errors.insert("limits.memory_bytes".into(), "that is more memory than any machine has".into());
            }
            Ok(m) => limits.memory_bytes = m * MIB,
            Err(_) => {
                errors.insert("limits.memory_bytes".into(), "memory must be a whole number of MiB".into());
            }
        }
    }
    let cpus = cpus.trim();
    if !cpus.is_empty() {
        match cpus.parse::<f64>() {
            Ok(c) if c.is_finite() && (0.0..=1_000_000.0).contains(&c) => {
                limits.nano_cpus = (c * 1e9).round() as u64;
                if c > 0.0 && limits.nano_cpus < 1_000_000 {
                    errors.insert("limits.nano_cpus".into(), "give at least 0.001 CPUs".into());
                }
            }
            _ => {
                errors.insert("limits.nano_cpus".into(), "CPUs must be a number such as 0.5 or 2".into());
            }
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

/// A field's message under it, announced when it appears.
#[component]
pub(super) fn FieldMessage(errors: FormErrors, field: String) -> impl IntoView {
    let id = format!("{}-error", dom_id(&field));
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

/// The input for one declared parameter, chosen by its type.
#[component]
fn ParameterField(p: Parameter, values: RwSignal<BTreeMap<String, String>>, errors: FormErrors) -> impl IntoView {
    let field = field_of(&p);
    let input_id = format!("param-{}", dom_id(&p.id));
    let hint_id = format!("{input_id}-hint");
    let error_id = format!("{}-error", dom_id(&field));
    let described = format!("{hint_id} {error_id}");
    let required = p.default.is_none() && !p.is_optional;
    let hint = type_hint(&p);
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
        let set = set.clone();
        view! {
            <label class="check" for=input_id.clone()>
                <input type="checkbox" id=input_id.clone() name=field.clone()
                    prop:checked=shown == "true"
                    aria-describedby=described.clone() aria-invalid=invalid
                    on:change=move |ev| set(if event_target_checked(&ev) { "true".into() } else { "false".into() })/>
                {label}
                {id_line}
            </label>
        }
        .into_any()
    } else if let Some(options) = p.values.clone().filter(|v| !v.is_empty() && !p.is_array) {
        let labels = p.labels.clone().unwrap_or_default();
        let set = set.clone();
        let placeholder = if required { "Choose…" } else { "(not set)" };
        view! {
            <label for=input_id.clone()>{label} {id_line}</label>
            <select id=input_id.clone() name=field.clone() aria-required=required.then_some("true")
                aria-describedby=described.clone() aria-invalid=invalid
                on:change=move |ev| set(event_target_value(&ev))>
                <option value="" selected=shown.is_empty()>{placeholder}</option>
                {options.into_iter().enumerate().map(|(i, v)| {
                    // The label, with the value only when it says something else.
                    let text = match labels.get(i).filter(|l| !l.is_empty()) {
                        Some(l) if l.eq_ignore_ascii_case(&v) => l.clone(),
                        Some(l) => format!("{l} ({v})"),
                        None => v.clone(),
                    };
                    let is = shown == v;
                    view! { <option value=v selected=is>{text}</option> }
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
        let placeholder = p.default.clone();
        let set = set.clone();
        view! {
            <label for=input_id.clone()>{label} {id_line}</label>
            <input type=kind id=input_id.clone() name=field.clone() step=step min=min max=max maxlength=maxlength
                placeholder=placeholder aria-required=required.then_some("true")
                aria-describedby=described.clone() aria-invalid=invalid
                prop:value=shown.clone()
                on:input=move |ev| set(if bad_number(&ev) { NOT_A_NUMBER.to_string() } else { event_target_value(&ev) })/>
        }
        .into_any()
    };
    view! {
        <div class="field" data-parameter=p.id.clone()>
            {input}
            {(!hint.is_empty()).then(|| view! { <span class="hint" id=hint_id>{hint}</span> })}
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
                            {rv(move || message(row).map(|m| view! { <span class="field-error env-error" role="alert" data-field=server_field(row)>{m}</span> }))}
                        </div>
                    }
                    .into_any()
                }
            </For>
            {rv(move || rows.with(|r| r.is_empty()).then(|| view! { <p class="muted small">"No variables."</p> }))}
            <div><button type="button" class="small" on:click=add>"Add variable"</button></div>
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
    }

    #[test]
    fn placements_are_read() {
        assert_eq!(placement_of("automatic"), Placement::Automatic);
        assert_eq!(placement_of("pool:abc"), Placement::NodePool { pool_id: "abc".into() });
        assert_eq!(placement_of("node:def"), Placement::PrivateNode { node_id: "def".into() });
    }
}
