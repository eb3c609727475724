//! Staff and their roles.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// 窗口人员: works cases at their own window.
    #[serde(rename = "窗口人员")]
    WindowClerk,
    /// 咨询导办: answers questions, records inquiries, issues tickets (clause 4.2.2).
    #[serde(rename = "咨询导办")]
    GuidanceDesk,
    /// 管理员: roster, catalogue, calendar, reports.
    #[serde(rename = "管理员")]
    Admin,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Self::WindowClerk => "窗口人员",
            Self::GuidanceDesk => "咨询导办",
            Self::Admin => "管理员",
        }
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
