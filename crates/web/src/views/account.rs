//! The pages of one's own account: sign-in, the one-time welcome link, the account page and
//! the Acceptable Use Policy.

use super::layout::Chrome;
use askama::Template;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub next: String,
    pub username: String,
    /// The school's provider's button, when `[sign_in.oidc]` is set: its label ("Sign in
    /// with Google") and its link (with `next`).
    pub oidc: Option<(String, String)>,
}

/// The second step of a sign-in: the code from the authenticator app (or a recovery code).
#[derive(Template)]
#[template(path = "login_code.html")]
pub struct LoginCodePage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub next: String,
    /// How long the step waits after the password.
    pub minutes: i64,
}

/// `/account/two-factor`: whether TOTP is on, setting it up (QR code and secret), the recovery
/// codes once, and turning it off.
#[derive(Template)]
#[template(path = "two_factor.html")]
pub struct TwoFactorPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    /// When it was turned on; `None` while off.
    pub enrolled: Option<String>,
    /// The profile requires it of the user's roles (it cannot be turned off).
    pub required: bool,
    /// A set-up waiting for its first code: (secret, QR code PNG as base64).
    pub setup: Option<(String, String)>,
    /// New recovery codes, shown this once.
    pub recovery_codes: Vec<String>,
    pub recovery_left: i64,
    pub school: String,
}

/// The page a new account's holder opens from their one-time link to set their password.
#[derive(Template)]
#[template(path = "welcome.html")]
pub struct WelcomePage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub name: String,
    pub username: String,
    pub action: String,
    pub min_len: usize,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub chrome: Chrome,
    /// Where the user stands with the Acceptable Use Policy, when the profile has one.
    pub aup: Option<String>,
    pub expired: bool,
    pub error: Option<String>,
    pub name: String,
    pub username: String,
    pub roles: String,
    pub changed: String,
    pub rotation_days: u32,
    /// The profile's `rotation_applies_to`: the other systems whose passwords staff change on
    /// the same cycle (Palisade cannot change them, so it says so).
    pub also_rotate: Vec<String>,
    pub min_len: usize,
    pub first_contact_title: String,
    /// Someone said the password may be known: a new one before anything else.
    pub must_change: bool,
    /// When two-factor sign-in was turned on; `None` while off.
    pub two_factor: Option<String>,
    /// The profile requires two-factor sign-in of the user's roles.
    pub two_factor_required: bool,
    /// The user's leaving date, when one is set, and their leavers' checklist.
    pub leaves_on: Option<String>,
    pub checklist: Vec<policy::leavers::ChecklistItem>,
}

#[derive(Template)]
#[template(path = "aup.html")]
pub struct AupPage {
    pub chrome: Chrome,
    pub school: String,
    pub title: String,
    pub version: String,
    /// The register's text of the code; `None`: the built-in Acceptable Use Policy.
    pub body: Option<String>,
    /// Every other page waits until this is signed.
    pub gated: bool,
    /// The register's version id and its file's name, when it kept the approved document.
    pub file: Option<(i64, String)>,
    pub accepted: Option<String>,
    pub return_to: String,
}
