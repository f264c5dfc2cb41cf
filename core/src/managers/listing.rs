use crate::{
    error::{Error, Result},
    model::{DEFAULT_PER_PAGE, MAX_PER_PAGE},
    store::Query,
    validate,
};

use super::Caller;

/// Limit a list of owned records (`user_id`) to what the caller may see: administrators see
/// everyone's, or one user's when `user_id` is given; others only their own, and asking for
/// someone else's `what` is refused.
pub fn scope_to_owner(caller: &Caller, user_id: Option<&str>, query: Query, what: &str) -> Result<Query> {
    if caller.is_admin() {
        match user_id {
            Some(user) => {
                validate::id("user", user)?;
                Ok(query.eq("user_id", user))
            }
            None => Ok(query),
        }
    } else if user_id.is_some_and(|u| u != caller.user.id) {
        Err(Error::Forbidden(format!("only administrators may list other users' {what}")))
    } else {
        Ok(query.eq("user_id", caller.user.id.as_str()))
    }
}

/// Paging and sorting as every list endpoint takes them: `page` from 1, `per_page` up to 1000,
/// `sort` a field name, `-field` for descending.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListParams {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
    pub sort: Option<String>,
}

impl ListParams {
    /// Turn into a store query, refusing page numbers and sort fields that make no sense.
    pub fn to_query(&self, sortable: &[&str], default_sort: &str) -> Result<(Query, u64, u64)> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page == 0 {
            return Err(Error::BadRequest("page starts at 1".into()));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(Error::BadRequest(format!("per_page must be between 1 and {MAX_PER_PAGE}")));
        }
        let sort = self.sort.as_deref().filter(|s| !s.is_empty()).unwrap_or(default_sort);
        let (field, descending) = match sort.strip_prefix('-') {
            Some(f) => (f, true),
            None => (sort, false),
        };
        if !sortable.contains(&field) {
            return Err(Error::BadRequest(format!(
                "cannot sort by '{field}'; sortable fields: {}",
                sortable.join(", ")
            )));
        }
        let offset = (page - 1).saturating_mul(per_page);
        Ok((Query::all().sort(field, descending).page(offset, per_page), page, per_page))
    }
}
