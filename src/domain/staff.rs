//! Staff and their roles.

use super::labels::labelled;
use serde::{Deserialize, Serialize};

labelled! { named:
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum Role {
        /// 窗口人员: works cases at their own window.
        WindowClerk = "窗口人员",
        /// 咨询导办: answers questions, records inquiries, issues tickets (clause 4.2.2).
        GuidanceDesk = "咨询导办",
        /// 管理员: the center admin: its roster, devices, calendar, reports, and its overlay on
        /// the county catalogue; the county catalogue itself only where the database has no
        /// county admin ([`crate::domain::access::check_catalogue_edit`]).
        Admin = "管理员",
        /// 县级管理员: the county admin, an account of no center: the county catalogue, and
        /// every center's overlay on it.
        CountyAdmin = "县级管理员",
        /// 中心负责人: reads the whole center (the board) and assigns and closes 差评整改
        /// follow-ups; nothing else.
        Director = "中心负责人",
        /// 自助取号机: a device account that issues tickets and nothing else.
        Kiosk = "自助取号机",
        /// 叫号屏: a device account that shows the live queue in the hall.
        Display = "叫号屏",
        /// 评价器: the applicant-facing device of one window (its account names the window).
        Evaluator = "评价器",
        /// 网上预约渠道: the county's 政务服务网 or a mini-program booking for applicants over the
        /// API. Reads free places, books, cancels its own bookings; nothing else.
        OnlineChannel = "网上预约渠道",
    }
}

impl Role {
    /// A device of the hall (kiosk, display, evaluator), not a person: signed in unattended with
    /// a device token, never with a password.
    pub fn is_device(self) -> bool {
        DEVICE_ROLES.contains(&self)
    }

    /// The English word of a device kind, as in its account id (`kiosk-1`) and its token file.
    pub fn device_word(self) -> Option<&'static str> {
        match self {
            Self::Kiosk => Some("kiosk"),
            Self::Display => Some("display"),
            Self::Evaluator => Some("evaluator"),
            Self::OnlineChannel => Some("online"),
            Self::WindowClerk | Self::GuidanceDesk | Self::Admin | Self::CountyAdmin | Self::Director => None,
        }
    }

    /// A device kind by its Chinese label or its English word (`自助取号机` or `kiosk`).
    pub fn parse_device(text: &str) -> Option<Self> {
        let text = text.trim();
        DEVICE_ROLES.iter().copied().find(|r| r.label() == text || r.device_word() == Some(text))
    }
}

/// The roles of people (who sign in with a password).
pub const PERSON_ROLES: &[Role] =
    &[Role::WindowClerk, Role::GuidanceDesk, Role::Admin, Role::Director, Role::CountyAdmin];
/// The roles of the hall's devices, and the online channel: accounts signed in with a device
/// token, never with a password.
pub const DEVICE_ROLES: &[Role] = &[Role::Kiosk, Role::Display, Role::Evaluator, Role::OnlineChannel];

/// The account id of a device: `kiosk-N` / `display-N` numbered in order, `evaluator-W` by the
/// window it faces. The one place the id is made; [`evaluator_window`] reads it back.
pub fn device_account_id(role: Role, n: u32) -> Option<String> {
    role.device_word().map(|word| format!("{word}-{n}"))
}

/// [`device_account_id`] of center `center` in a database of several centers, where staff ids
/// are unique in the county and every center has its `kiosk-1` and `evaluator-1`:
/// `evaluator-3@baishui`. A database of one center keeps the plain ids (`center`: `None`).
pub fn device_account_id_in(role: Role, n: u32, center: Option<&str>) -> Option<String> {
    device_account_id(role, n).map(|id| match center {
        Some(center) => format!("{id}@{center}"),
        None => id,
    })
}

/// The number of a device account id made by [`device_account_id_in`] for the kind `word`
/// (`kiosk-2` and `kiosk-2@baishui` are kiosk 2).
pub fn device_number(id: &str, word: &str) -> Option<u32> {
    id.strip_prefix(word)?.strip_prefix('-')?.split('@').next()?.parse().ok()
}

/// The window an evaluator account faces (`evaluator-3` faces window 3). `None` for any other
/// account: identity, window included, comes from the session's account.
pub fn evaluator_window(staff: &Staff) -> Option<u32> {
    if staff.role != Role::Evaluator {
        return None;
    }
    device_number(&staff.id, Role::Evaluator.device_word()?)
}

/// The name of a device's token file (`device-NAME.token`): its kind for kiosks and displays (one
/// of each per PC), its account for evaluators (`evaluator-3`: a server PC that adds every
/// window's evaluator keeps each token apart).
pub fn device_token_name(staff: &Staff) -> Option<String> {
    match staff.role {
        // By window only: one PC holds one center's devices.
        Role::Evaluator => device_account_id(Role::Evaluator, evaluator_window(staff)?),
        role => role.device_word().map(str::to_owned),
    }
}

/// What a device's account is called on screen: `自助取号机 1`, `3 号窗口评价器`.
pub fn device_name(role: Role, n: u32) -> String {
    match role {
        Role::Evaluator => format!("{n} 号窗口评价器"),
        _ => format!("{}{n}", role.label()),
    }
}

/// A member of staff as everyone may see them: no credentials here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    /// Sign-in id (工号), e.g. "s001".
    pub id: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_accounts_are_named_and_read_back_in_one_place() {
        for role in DEVICE_ROLES {
            assert!(role.is_device());
            assert_eq!(Role::parse_device(role.label()), Some(*role));
            assert_eq!(Role::parse_device(role.device_word().unwrap()), Some(*role));
        }
        assert!(PERSON_ROLES.iter().all(|r| !r.is_device() && Role::parse_device(r.label()).is_none()));
        let id = device_account_id(Role::Evaluator, 3).unwrap();
        let staff = |id: &str, role| Staff { id: id.into(), name: String::new(), role, active: true };
        assert_eq!(evaluator_window(&staff(&id, Role::Evaluator)), Some(3));
        assert_eq!(evaluator_window(&staff(&id, Role::WindowClerk)), None, "only an evaluator account faces a window");
        assert_eq!(evaluator_window(&staff("kiosk-1", Role::Kiosk)), None);
        assert_eq!(device_account_id(Role::Kiosk, 2).as_deref(), Some("kiosk-2"));
        assert_eq!(device_account_id(Role::Admin, 2), None);
        let of_b = device_account_id_in(Role::Evaluator, 3, Some("baishui")).unwrap();
        assert_eq!(of_b, "evaluator-3@baishui");
        assert_eq!(evaluator_window(&staff(&of_b, Role::Evaluator)), Some(3));
        assert_eq!(device_token_name(&staff(&of_b, Role::Evaluator)).as_deref(), Some("evaluator-3"));
        assert_eq!(device_number("kiosk-12@baishui", "kiosk"), Some(12));
        assert_eq!(device_number("kiosk-x", "kiosk"), None);
        assert_eq!(device_token_name(&staff(&id, Role::Evaluator)).as_deref(), Some("evaluator-3"));
        assert_eq!(device_token_name(&staff("kiosk-2", Role::Kiosk)).as_deref(), Some("kiosk"));
    }
}
