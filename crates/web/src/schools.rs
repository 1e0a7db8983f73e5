//! The schools of a trust in one app. Each request is served by the router of one school,
//! whose state holds that school's store (acting in it alone: on PostgreSQL the database shows
//! no other school's rows) and its profile. The school comes from the session cookie or the
//! welcome link, whose tokens begin with it (`2.` + random); the school's router still finds
//! the session only among its own, so a changed prefix finds nothing. Signing in looks the
//! username up in the database's directory of logins first. A single school has one router.

use crate::{AppState, FilteringControl, router};
use axum::Router;
use axum::extract::Request;
use policy::Profile;
use std::collections::BTreeMap;
use std::sync::Arc;
use tower::ServiceExt;

/// A school the app serves besides the state's own, for a trust.
#[derive(Clone)]
pub struct SchoolSite {
    pub slug: String,
    pub profile: Arc<Profile>,
    /// Its gateways' filtering, when they run.
    pub filtering: Option<Arc<dyn FilteringControl>>,
}

/// The schools of a trust by id (empty for a single school).
pub type Schools = Arc<BTreeMap<i64, SchoolSite>>;

/// The trust a multi-school app serves: its own row, where its people sign in, and its
/// profile, which says which schools each of its roles covers.
pub struct Trust {
    pub id: i64,
    pub profile: policy::trust::TrustProfile,
}

/// The cookie the trust's page sets when a trust's person chooses a school in the browser.
pub const SCHOOL_COOKIE: &str = "palisade_school";

/// The school a request's `palisade_school` cookie names, if any.
pub fn school_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    crate::auth::cookie(headers, SCHOOL_COOKIE)
}

/// The header a trust's person names the school they act in with (an API client; a school's
/// own people need not send it, and get 404 when it names another school).
pub const SCHOOL_HEADER: &str = "x-palisade-school";

impl AppState {
    /// This state for school `id`: its store acting there alone, its profile and filtering.
    /// `None` when the app does not serve that school.
    pub fn in_school(&self, id: i64) -> Option<AppState> {
        if id == self.store.school_id() {
            return Some(self.clone());
        }
        let site = self.schools.get(&id)?;
        Some(AppState {
            store: self.store.in_school(id),
            profile: site.profile.clone(),
            filtering: site.filtering.clone(),
            ..self.clone()
        })
    }

    /// The state of the school (or trust) `user`'s account belongs to: their own account
    /// page and password, wherever they act.
    pub fn home_of(&self, user: &crate::auth::CurrentUser) -> AppState {
        self.in_school(user.home_school)
            .unwrap_or_else(|| self.clone())
    }

    /// A new token for a session or a welcome link, beginning with this state's school.
    pub fn school_token(&self) -> String {
        format!("{}.{}", self.store.school_id(), crate::auth::random_token())
    }
}

/// The school a token names (`2.` + random), if it names one.
pub fn school_of_token(token: &str) -> Option<i64> {
    let (id, rest) = token.split_once('.')?;
    (!rest.is_empty()).then_some(())?;
    id.parse().ok()
}

/// The school a request names: by its session cookie, or by the token of a welcome link.
fn school_of_request(req: &Request) -> Option<i64> {
    if let Some(token) = crate::auth::cookie_token(req.headers()) {
        return school_of_token(&token);
    }
    let token = req.uri().path().strip_prefix("/welcome/")?;
    school_of_token(token)
}

/// The whole app for `state`'s school and every school in `state.schools`: requests go to the
/// router of the school they name, anything else to `state`'s own.
pub fn app(state: AppState) -> Router {
    if state.schools.is_empty() {
        return router(state);
    }
    let own = router(state.clone());
    let mut by_school: BTreeMap<i64, Router> = BTreeMap::new();
    for id in state.schools.keys() {
        if let Some(school) = state.in_school(*id) {
            by_school.insert(*id, router(school));
        }
    }
    by_school.insert(state.store.school_id(), own.clone());
    let by_school = Arc::new(by_school);
    Router::new().fallback_service(tower::service_fn(move |mut req: Request| {
        let (state, by_school, own) = (state.clone(), by_school.clone(), own.clone());
        async move {
            let trust_row = state.trust.as_ref().map(|t| t.id);
            let chosen = match school_of_request(&req) {
                Some(id) => match named_school(&req) {
                    // The trust's own row holds no school's work: its people reach their
                    // account and the trust's pages there, nothing else (no people to manage,
                    // no roles to give themselves).
                    None if Some(id) == trust_row && !at_trust_row(req.uri().path()) => {
                        return Ok(not_found());
                    }
                    None => by_school.get(&id).cloned(),
                    Some(slug) => match act_in(&state, id, &slug, req.headers()).await {
                        Act::In(target, user) => {
                            req.extensions_mut().insert(*user);
                            by_school.get(&target).cloned()
                        }
                        // Its own school's router answers as for anyone signed out.
                        Act::SignedOut => by_school.get(&id).cloned(),
                        Act::Hidden => return Ok(not_found()),
                    },
                },
                None => None,
            };
            chosen.unwrap_or(own).oneshot(req).await
        }
    }))
}

/// What the trust's own row serves its people: the trust's pages, their account, signing in and
/// out, the page furniture.
fn at_trust_row(path: &str) -> bool {
    const EXACT: [&str; 20] = [
        "/",
        "/trust",
        "/trust/school",
        "/trust/concerns",
        "/trust/alerts",
        "/trust/filtering",
        "/account",
        "/account/password",
        "/account/password-known",
        "/account/two-factor",
        "/account/two-factor/start",
        "/account/two-factor/confirm",
        "/account/two-factor/remove",
        "/login",
        "/login/code",
        "/logout",
        "/api/v1/login",
        "/api/v1/logout",
        "/api/v1/me",
        "/api/v1/account/password-known",
    ];
    EXACT.contains(&path)
        || path.starts_with("/api/v1/trust/")
        || path.starts_with("/static/")
        || path == "/healthz"
        || path == "/readyz"
}

/// The school a request names: by the header, else by the cookie the trust's page sets. The
/// trust's own pages are always the trust's, so that its people can choose again.
fn named_school(req: &Request) -> Option<String> {
    let path = req.uri().path();
    if path == "/trust" || path.starts_with("/trust/") || path.starts_with("/api/v1/trust/") {
        return None;
    }
    let header = req
        .headers()
        .get(SCHOOL_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    header.or_else(|| school_cookie(req.headers()))
}

/// Where a request naming a school is served.
enum Act {
    /// In this school, as this user.
    In(i64, Box<crate::auth::CurrentUser>),
    /// No live session: as any signed-out request.
    SignedOut,
    /// Not the caller's school to see: 404.
    Hidden,
}

/// Where a request signed in at school `from` and naming school `slug` is served: a school's
/// own people in their own school only; a trust's people in each school their trust roles
/// cover, with those roles (the [`crate::auth::CurrentUser`] handed on).
async fn act_in(state: &AppState, from: i64, slug: &str, headers: &axum::http::HeaderMap) -> Act {
    let Some(home) = state.in_school(from) else {
        return Act::SignedOut;
    };
    let Ok(Some(mut user)) = crate::auth::session_of(&home, headers).await else {
        return Act::SignedOut;
    };
    let (Some((target, site)), Some(trust)) = (
        state.schools.iter().find(|(_, s)| s.slug == slug),
        state.trust.as_ref(),
    ) else {
        return Act::Hidden;
    };
    if from != trust.id {
        // A school's own person: their own school alone.
        return if *target == from {
            Act::In(from, Box::new(user))
        } else {
            Act::Hidden
        };
    }
    let roles = trust.profile.roles_in(user.actor.roles, &site.slug);
    if roles.is_empty() {
        return Act::Hidden;
    }
    user.actor.roles = roles;
    user.person.roles = roles;
    Act::In(*target, Box::new(user))
}

/// The answer for a school that is not the caller's to see.
fn not_found() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "error": "not found" })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_school_or_none() {
        assert_eq!(school_of_token("2.abc"), Some(2));
        assert_eq!(school_of_token("12.abc.def"), Some(12));
        for none in ["abc", "2.", ".abc", "x.abc", ""] {
            assert_eq!(school_of_token(none), None, "{none}");
        }
    }
}
