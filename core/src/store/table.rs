//! The embedded store's in-memory side of a collection: a compact, typed *projection* of every
//! document (the fields queries look at) and a sorted index per field the collection names in
//! [`CollectionSpec::indexed`]. A list is answered here and only its page's documents are read
//! from the file.
//!
//! How a query is answered:
//! * an equality on an indexed field (owner, state, node, …) takes the ids of that value from the
//!   index (the smallest such set when there are several) and filters, sorts and pages only those;
//! * otherwise a sort by an indexed field (or by id) walks that index in order, so a page costs
//!   its offset plus its length when nothing is filtered, and one cheap pass when something is;
//! * otherwise every row is filtered, and the page is selected in linear time.
//!
//! The results are exactly those of [`super::matches`] and [`super::sort_and_page_refs`] on the
//! documents (a unit test compares them on random collections and queries).

use std::{
    cmp::Ordering,
    collections::{BTreeMap, HashMap},
    ops::Bound,
    sync::Arc,
};

use serde_json::Value;

use super::{CollectionSpec, Filter, Query, Tally};

/// Strings longer than this are left out of projections (no query filters on such fields).
const PROJECTED_STRING_MAX: usize = 1024;
/// Arrays longer than this are left out too.
const PROJECTED_ARRAY_MAX: usize = 64;

/// A projected value. Strings are shared between a row and the index entries that name it.
#[derive(Clone, Debug)]
pub(crate) enum Cell {
    Null,
    Bool(bool),
    Num(f64),
    Str(Arc<str>),
    Arr(Box<[Cell]>),
}

impl Cell {
    fn of(v: &Value) -> Option<Cell> {
        Some(match v {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Bool(*b),
            Value::Number(n) => Cell::Num(n.as_f64().unwrap_or(0.0)),
            Value::String(s) if s.len() <= PROJECTED_STRING_MAX => Cell::Str(Arc::from(s.as_str())),
            Value::Array(items) if items.len() <= PROJECTED_ARRAY_MAX => {
                let cells: Option<Vec<Cell>> =
                    items.iter().map(|i| if i.is_array() { None } else { Cell::of(i) }).collect();
                Cell::Arr(cells?.into_boxed_slice())
            }
            _ => return None,
        })
    }

    /// A query's value as a cell; `None` for one no projected value equals (an object).
    fn of_query(v: &Value) -> Option<Cell> {
        match v {
            Value::String(s) => Some(Cell::Str(Arc::from(s.as_str()))),
            Value::Array(items) => {
                Some(Cell::Arr(items.iter().map(Cell::of_query).collect::<Option<Vec<_>>>()?.into()))
            }
            Value::Object(_) => None,
            other => Cell::of(other),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Cell::Null => 0,
            Cell::Bool(_) => 1,
            Cell::Num(_) => 2,
            Cell::Str(_) => 3,
            Cell::Arr(_) => 4,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Cell::Null)
    }

    /// The store's order on values ([`super::compare`]): null < bool < number < string < array.
    fn compare(&self, other: &Cell) -> Ordering {
        match (self, other) {
            (Cell::Bool(x), Cell::Bool(y)) => x.cmp(y),
            (Cell::Num(x), Cell::Num(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
            (Cell::Str(x), Cell::Str(y)) => x.cmp(y),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialEq for Cell {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Cell::Null, Cell::Null) => true,
            (Cell::Bool(x), Cell::Bool(y)) => x == y,
            (Cell::Num(x), Cell::Num(y)) => x == y,
            (Cell::Str(x), Cell::Str(y)) => x == y,
            (Cell::Arr(x), Cell::Arr(y)) => x == y,
            _ => false,
        }
    }
}

impl Eq for Cell {}

impl PartialOrd for Cell {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A total order for index keys, consistent with equality; it agrees with [`Cell::compare`]
/// wherever that one tells values apart.
impl Ord for Cell {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Cell::Num(x), Cell::Num(y)) => x.total_cmp(y),
            (Cell::Arr(x), Cell::Arr(y)) => x.iter().cmp(y.iter()),
            _ => self.compare(other),
        }
    }
}

static NULL: Cell = Cell::Null;

struct Row {
    id: Arc<str>,
    /// (field number, value), ordered by field number.
    cells: Box<[(u16, Cell)]>,
}

impl Row {
    fn get(&self, field: Option<u16>) -> &Cell {
        let Some(field) = field else { return &NULL };
        match self.cells.binary_search_by_key(&field, |(f, _)| *f) {
            Ok(i) => &self.cells[i].1,
            Err(_) => &NULL,
        }
    }
}

/// An index: every row whose field is not null, by (value, id), with its slot. A row whose
/// field is an array is there once per element, and then the index is `multi`: it answers
/// "holds" filters only, not equalities or sorts.
struct Index {
    field: u16,
    entries: BTreeMap<(Cell, Arc<str>), u32>,
    /// How many entries each value has, so that choosing the narrowest equality costs nothing.
    counts: BTreeMap<Cell, usize>,
    multi: bool,
}

impl Index {
    fn add(&mut self, key: &Cell, id: &Arc<str>, slot: u32) {
        if self.entries.insert((key.clone(), id.clone()), slot).is_none() {
            *self.counts.entry(key.clone()).or_default() += 1;
        }
    }

    fn drop_entry(&mut self, key: &Cell, id: &Arc<str>) {
        if self.entries.remove(&(key.clone(), id.clone())).is_some() {
            if let Some(n) = self.counts.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    self.counts.remove(key);
                }
            }
        }
    }

    fn count(&self, key: &Cell) -> usize {
        self.counts.get(key).copied().unwrap_or(0)
    }

    /// The slots of the rows with `key`.
    fn slots(&self, key: &Cell) -> Vec<u32> {
        let from = Bound::Included((key.clone(), Arc::<str>::from("")));
        self.entries.range((from, Bound::Unbounded)).take_while(|((c, _), _)| c == key).map(|(_, s)| *s).collect()
    }
}

/// The keys a cell has in an index: an array's elements (but nulls), or the cell itself.
fn keys(cell: &Cell) -> Box<dyn Iterator<Item = &Cell> + '_> {
    match cell {
        Cell::Null => Box::new(std::iter::empty()),
        Cell::Arr(items) => Box::new(items.iter().filter(|c| !c.is_null())),
        other => Box::new(std::iter::once(other)),
    }
}

/// A compiled filter: field numbers instead of names, values as cells.
enum Test {
    Eq(Option<u16>, Option<Cell>),
    Ne(Option<u16>, Option<Cell>),
    /// Lower-cased text; `ascii` when it is ASCII (compared without allocating).
    Contains(Option<u16>, String),
    Lt(Option<u16>, Cell),
    Ge(Option<u16>, Cell),
    Has(Option<u16>, Option<Cell>),
    /// A condition no row meets (a range against an object).
    Never,
}

impl Test {
    fn passes(&self, row: &Row) -> bool {
        match self {
            Test::Eq(f, v) => v.as_ref().is_some_and(|v| row.get(*f) == v),
            Test::Ne(f, v) => v.as_ref().is_none_or(|v| row.get(*f) != v),
            Test::Contains(f, text) => match row.get(*f) {
                Cell::Str(s) => contains_ignoring_case(s, text),
                _ => false,
            },
            Test::Lt(f, v) => {
                let c = row.get(*f);
                !c.is_null() && c.compare(v) == Ordering::Less
            }
            Test::Ge(f, v) => {
                let c = row.get(*f);
                !c.is_null() && c.compare(v) != Ordering::Less
            }
            Test::Has(f, v) => match (row.get(*f), v) {
                (Cell::Arr(items), Some(v)) => items.contains(v),
                _ => false,
            },
            Test::Never => false,
        }
    }
}

/// `haystack` lower-cased contains `needle` (already lower-case), as `to_lowercase` would say.
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        haystack.to_lowercase().contains(needle)
    }
}

/// One collection's projection and indexes.
pub(crate) struct Table {
    /// Only these fields are projected, when the collection restricts its projection; every
    /// top-level scalar or array of scalars otherwise.
    keep: Option<Vec<&'static str>>,
    names: HashMap<Box<str>, u16>,
    slots: Vec<Option<Row>>,
    free: Vec<u32>,
    by_id: BTreeMap<Arc<str>, u32>,
    indexes: Vec<Index>,
}

impl Table {
    pub(crate) fn new(spec: &CollectionSpec) -> Self {
        let mut table = Table {
            keep: (!spec.projected.is_empty()).then(|| spec.indexed.iter().chain(spec.projected).copied().collect()),
            names: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            by_id: BTreeMap::new(),
            indexes: Vec::new(),
        };
        for field in spec.indexed.iter().filter(|f| **f != "id") {
            let field = table.intern(field);
            table.indexes.push(Index { field, entries: BTreeMap::new(), counts: BTreeMap::new(), multi: false });
        }
        table
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    fn intern(&mut self, name: &str) -> u16 {
        if let Some(n) = self.names.get(name) {
            return *n;
        }
        let n = u16::try_from(self.names.len()).unwrap_or(u16::MAX);
        self.names.insert(name.into(), n);
        n
    }

    fn field(&self, name: &str) -> Option<u16> {
        self.names.get(name).copied()
    }

    fn project(&mut self, id: Arc<str>, doc: &Value) -> Row {
        let mut cells = Vec::new();
        if let Some(map) = doc.as_object() {
            for (k, v) in map {
                if k == "id" || self.keep.as_ref().is_some_and(|keep| !keep.contains(&k.as_str())) {
                    continue;
                }
                if let Some(cell) = Cell::of(v) {
                    let f = self.intern(k);
                    cells.push((f, cell));
                }
            }
        }
        cells.sort_by_key(|(f, _)| *f);
        Row { id, cells: cells.into_boxed_slice() }
    }

    /// Put `doc` in (replacing the document of the same id).
    pub(crate) fn upsert(&mut self, doc: &Value) {
        let Some(id) = doc.get("id").and_then(Value::as_str) else { return };
        self.remove(id);
        let id: Arc<str> = Arc::from(id);
        let row = self.project(id.clone(), doc);
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 documents")
            }
        };
        for index in &mut self.indexes {
            let cell = row.get(Some(index.field));
            index.multi |= matches!(cell, Cell::Arr(_));
            for key in keys(cell) {
                index.add(key, &id, slot);
            }
        }
        self.by_id.insert(id, slot);
        self.slots[slot as usize] = Some(row);
    }

    pub(crate) fn remove(&mut self, id: &str) {
        let Some(slot) = self.by_id.remove(id) else { return };
        let Some(row) = self.slots[slot as usize].take() else { return };
        for index in &mut self.indexes {
            for key in keys(row.get(Some(index.field))) {
                index.drop_entry(key, &row.id);
            }
        }
        self.free.push(slot);
    }

    fn row(&self, slot: u32) -> &Row {
        self.slots[slot as usize].as_ref().expect("an indexed slot holds a row")
    }

    /// Whether every field the query names is projected.
    fn answers(&self, query: &Query) -> bool {
        let Some(keep) = &self.keep else { return true };
        let ok = |f: &str| f == "id" || keep.contains(&f);
        query.filters.iter().all(|f| ok(filter_field(f))) && query.sort.as_ref().is_none_or(|(f, _)| ok(f))
    }

    fn compile(&self, filter: &Filter) -> Test {
        let f = |name: &str| self.field(name);
        match filter {
            Filter::Eq(name, v) => Test::Eq(f(name), Cell::of_query(v)),
            Filter::Ne(name, v) => Test::Ne(f(name), Cell::of_query(v)),
            Filter::Contains(name, text) => Test::Contains(f(name), text.to_lowercase()),
            Filter::Lt(name, v) => Cell::of_query(v).map_or(Test::Never, |v| Test::Lt(f(name), v)),
            Filter::Ge(name, v) => Cell::of_query(v).map_or(Test::Never, |v| Test::Ge(f(name), v)),
            Filter::Has(name, v) => Test::Has(f(name), Cell::of_query(v)),
        }
    }

    /// The index of `field` that can answer an equality or a sort (one of single values).
    fn index_of(&self, field: Option<u16>) -> Option<&Index> {
        self.any_index_of(field).filter(|i| !i.multi)
    }

    fn any_index_of(&self, field: Option<u16>) -> Option<&Index> {
        field.and_then(|f| self.indexes.iter().find(|i| i.field == f))
    }

    /// How many rows have each combination of `fields`' values (a string, or "" for anything
    /// else), as [`super::tally_docs`] counts documents; `None` when a field is not projected.
    /// For fields of short values only (states, kinds): a string longer than
    /// `PROJECTED_STRING_MAX` is not projected, and counts as "" here.
    pub(crate) fn tally(&self, fields: &[&str]) -> Option<Tally> {
        if let Some(keep) = &self.keep {
            if !fields.iter().all(|f| keep.contains(f)) {
                return None;
            }
        }
        let numbers: Vec<Option<u16>> = fields.iter().map(|f| self.field(f)).collect();
        let mut counts: BTreeMap<Vec<&str>, u64> = BTreeMap::new();
        for row in self.slots.iter().flatten() {
            let key = numbers
                .iter()
                .map(|f| match row.get(*f) {
                    Cell::Str(s) => &**s,
                    _ => "",
                })
                .collect();
            *counts.entry(key).or_default() += 1;
        }
        Some(counts.into_iter().map(|(k, n)| (k.into_iter().map(str::to_string).collect(), n)).collect())
    }

    /// The ids of the query's page and how many documents match it; `None` when the query names
    /// a field the projection leaves out (the caller reads the documents instead).
    pub(crate) fn select(&self, query: &Query) -> Option<(Vec<Arc<str>>, u64)> {
        if !self.answers(query) {
            return None;
        }
        // `id` is a row's key, not a cell: filters on it are rare (none today) and answered by
        // the caller from the documents.
        if query.filters.iter().any(|f| filter_field(f) == "id") {
            return None;
        }
        let tests: Vec<Test> = query.filters.iter().map(|f| self.compile(f)).collect();
        let sort = query.sort.as_ref().filter(|(f, _)| f != "id");
        let descending = query.sort.as_ref().is_some_and(|(_, d)| *d);
        let offset = query.offset.min(u64::MAX / 2) as usize;
        let limit = query.limit.map_or(usize::MAX / 2, |l| l as usize);

        // The narrowest equality (or "holds", on an index of arrays) on an indexed field, when
        // there is one.
        let mut narrowest: Option<(&Index, Cell, usize)> = None;
        // Whether exactly the narrowest set's rows pass its filter (an equality's do; a "holds"
        // set may have rows whose field is a single value).
        let mut exact = false;
        for filter in &query.filters {
            let (index, v) = match filter {
                Filter::Eq(name, v) => (self.index_of(self.field(name)), v),
                Filter::Has(name, v) => (self.any_index_of(self.field(name)), v),
                _ => continue,
            };
            let (Some(index), Some(v)) = (index, Cell::of_query(v)) else { continue };
            if v.is_null() || matches!(v, Cell::Arr(_)) {
                continue; // nulls are not indexed, nor arrays as such
            }
            let n = index.count(&v);
            if narrowest.as_ref().is_none_or(|(_, _, best)| n < *best) {
                narrowest = Some((index, v, n));
                exact = matches!(filter, Filter::Eq(..));
            }
        }
        let sort_field = sort.map(|(f, _)| self.field(f));
        // The order of the sort's index (or of ids), when the sort has one.
        let ordered = match sort_field {
            None | Some(None) => true,
            Some(field) => self.index_of(field).is_some(),
        };
        match narrowest {
            // One equality and little else to it: walk the sort's order, test each row, and stop
            // once the page is full; the equality's ids are the total.
            Some((_, _, n))
                if exact && tests.len() == 1 && ordered && n > offset.saturating_add(limit).saturating_mul(8) =>
            {
                let total = n as u64;
                let page = self.walk(sort_field, descending).filter(|r| tests[0].passes(r)).skip(offset).take(limit);
                Some((page.map(|r| r.id.clone()).collect(), total))
            }
            Some((index, key, _)) => {
                let rows = index
                    .slots(&key)
                    .into_iter()
                    .map(|s| self.row(s))
                    .filter(|r| tests.iter().all(|t| t.passes(r)))
                    .collect();
                Some(self.sort_and_page(rows, sort_field, descending, offset, limit))
            }
            // Nothing filtered: the page is the walk's `offset`-th to `offset + limit`-th.
            None if tests.is_empty() && ordered => {
                let page = self.walk(sort_field, descending).skip(offset).take(limit);
                Some((page.map(|r| r.id.clone()).collect(), self.len() as u64))
            }
            // Filters an index cannot narrow (a search, a range): test every row in memory order,
            // then sort what matched.
            None => {
                let rows = self.slots.iter().flatten().filter(|r| tests.iter().all(|t| t.passes(r))).collect();
                Some(self.sort_and_page(rows, sort_field, descending, offset, limit))
            }
        }
    }

    /// Every row in the order of `field` (`None`: by id; `Some(None)`: a field no row has, so by
    /// id too), which must be indexed: its values, then the rows without one by id; all reversed
    /// when descending, the rows without a value staying last.
    fn walk(&self, field: Option<Option<u16>>, descending: bool) -> Box<dyn Iterator<Item = &Row> + '_> {
        let by_id = self.by_id.values().map(|s| self.row(*s));
        let index = match field {
            Some(f) => self.index_of(f),
            None => None,
        };
        let Some(index) = index else {
            return if descending { Box::new(by_id.rev()) } else { Box::new(by_id) };
        };
        let values = index.entries.values().map(|s| self.row(*s));
        if index.entries.len() == self.len() {
            // Every row has a value: no second pass for those without.
            return if descending { Box::new(values.rev()) } else { Box::new(values) };
        }
        let field = Some(index.field);
        let nulls = by_id.filter(move |r| r.get(field).is_null());
        if descending {
            Box::new(values.rev().chain(nulls.rev()))
        } else {
            Box::new(values.chain(nulls))
        }
    }

    /// Sort rows by a field (nulls last either way, ties by id; all reversed when descending,
    /// the nulls staying last) and take a page, selecting the first `offset + limit` in linear
    /// time. `field` is `None` for by-id, `Some(None)` for a field no row has.
    fn sort_and_page(
        &self,
        rows: Vec<&Row>,
        field: Option<Option<u16>>,
        descending: bool,
        offset: usize,
        limit: usize,
    ) -> (Vec<Arc<str>>, u64) {
        let total = rows.len();
        let mut keyed: Vec<(&Cell, &Row)> = rows.into_iter().map(|r| (field.map_or(&NULL, |f| r.get(f)), r)).collect();
        let order = |(ka, ra): &(&Cell, &Row), (kb, rb): &(&Cell, &Row)| {
            let by_key = match (ka.is_null(), kb.is_null()) {
                (true, false) => return Ordering::Greater,
                (false, true) => return Ordering::Less,
                _ => ka.compare(kb),
            };
            let ord = by_key.then_with(|| ra.id.cmp(&rb.id));
            if descending {
                ord.reverse()
            } else {
                ord
            }
        };
        let offset = offset.min(total);
        let end = offset.saturating_add(limit);
        if end < keyed.len() {
            keyed.select_nth_unstable_by(end, order);
            keyed.truncate(end);
        }
        keyed.sort_unstable_by(order);
        (keyed.into_iter().skip(offset).take(limit).map(|(_, r)| r.id.clone()).collect(), total as u64)
    }
}

fn filter_field(f: &Filter) -> &str {
    match f {
        Filter::Eq(n, _) | Filter::Ne(n, _) | Filter::Contains(n, _) => n,
        Filter::Lt(n, _) | Filter::Ge(n, _) | Filter::Has(n, _) => n,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::{matches, sort_and_page_refs};

    const SPEC: CollectionSpec = CollectionSpec {
        name: "t",
        noun: "thing",
        unique: &[],
        indexed: &["owner", "state", "n", "name", "tags"],
        projected: &["flag", "missing"],
    };
    /// Indexes, every field projected.
    const OPEN: CollectionSpec =
        CollectionSpec { name: "t", noun: "thing", unique: &[], indexed: &["owner", "n", "tags"], projected: &[] };
    /// No index at all.
    const BARE: CollectionSpec = CollectionSpec { name: "t", noun: "thing", unique: &[], indexed: &[], projected: &[] };

    /// A small deterministic generator (no dependency for one test).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    fn doc(r: &mut Lcg, i: usize) -> Value {
        let mut d = serde_json::Map::new();
        d.insert("id".into(), json!(format!("id{:04}", r.next(1000))));
        let _ = i;
        if r.next(5) > 0 {
            d.insert("owner".into(), json!(["ann", "bob", "cy"][r.next(3) as usize]));
        }
        match r.next(4) {
            0 => {}
            1 => {
                d.insert("state".into(), Value::Null);
            }
            _ => {
                d.insert("state".into(), json!(["RUNNING", "FAILED", "SUSPENDED"][r.next(3) as usize]));
            }
        }
        if r.next(6) > 0 {
            d.insert("n".into(), if r.next(8) == 0 { json!("text") } else { json!(r.next(20)) });
        }
        d.insert("name".into(), json!(format!("Proc {} Ä", r.next(50))));
        let tags = if r.next(10) == 0 {
            json!(format!("t{}", r.next(4)))
        } else {
            json!([format!("t{}", r.next(4)), format!("t{}", r.next(4))])
        };
        d.insert("tags".into(), tags);
        d.insert("flag".into(), json!(r.next(2) == 0));
        d.insert("nested".into(), json!({"a": 1}));
        Value::Object(d)
    }

    fn query(r: &mut Lcg) -> Query {
        let mut q = Query::all();
        for _ in 0..r.next(3) {
            q = match r.next(9) {
                0 => q.eq("owner", ["ann", "bob", "zed"][r.next(3) as usize]),
                1 => q.eq("state", ["RUNNING", "FAILED"][r.next(2) as usize]),
                2 => q.ne("state", "FAILED"),
                3 => q.contains("name", ["proc 1", "ä", "4"][r.next(3) as usize]),
                4 => q.lt("n", r.next(20)),
                5 => q.ge("n", r.next(20)),
                6 => q.has("tags", format!("t{}", r.next(4))),
                7 => q.eq("flag", true),
                _ => q.eq("state", Value::Null),
            };
        }
        if r.next(4) > 0 {
            let field = ["owner", "state", "n", "name", "id", "flag", "missing"][r.next(7) as usize];
            q = q.sort(field, r.next(2) == 0);
        }
        match r.next(3) {
            0 => {}
            1 => q = q.page(r.next(30), r.next(25)),
            _ => q = q.page(r.next(4), r.next(6)),
        }
        q
    }

    /// Random collections and queries: the table gives exactly what the reference evaluation
    /// on the documents gives, page and total, for an indexed and an unindexed collection,
    /// after inserts, replacements and removals.
    #[test]
    fn answers_like_the_reference() {
        let mut r = Lcg(7);
        for spec in [&SPEC, &OPEN, &BARE] {
            for round in 0..40 {
                let mut table = Table::new(spec);
                let mut docs: BTreeMap<String, Value> = BTreeMap::new();
                for i in 0..(round * 15 + 3) {
                    let d = doc(&mut r, i);
                    if r.next(10) == 0 {
                        let id = d["id"].as_str().unwrap().to_string();
                        table.remove(&id);
                        docs.remove(&id);
                    } else {
                        table.upsert(&d);
                        docs.insert(d["id"].as_str().unwrap().to_string(), d);
                    }
                }
                for fields in [&["owner"][..], &["state", "owner"], &["n"], &["flag", "missing"]] {
                    let want = crate::store::tally_docs(docs.values(), fields);
                    assert_eq!(table.tally(fields), Some(want), "tally of {fields:?}");
                }
                for _ in 0..60 {
                    let q = query(&mut r);
                    let matching: Vec<&Value> = docs.values().filter(|d| matches(d, &q.filters)).collect();
                    let (want, want_total) = sort_and_page_refs(matching, &q);
                    let want: Vec<&str> = want.iter().map(|d| d["id"].as_str().unwrap()).collect();
                    let (got, got_total) = table.select(&q).expect("every field is projected");
                    let got: Vec<&str> = got.iter().map(|s| &**s).collect();
                    assert_eq!((got, got_total), (want, want_total), "query {q:?}");
                }
            }
        }
    }

    #[test]
    fn a_field_outside_the_projection_is_not_answered() {
        let table = Table::new(&SPEC);
        assert!(table.select(&Query::all().eq("color", "red")).is_none());
        assert!(table.select(&Query::all().sort("color", false)).is_none());
        assert!(table.select(&Query::all().eq("owner", "ann").sort("name", true)).is_some());
        assert!(table.tally(&["color"]).is_none());
        assert!(table.tally(&["owner", "flag"]).is_some());
    }
}
