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
        /// 管理员: roster, catalogue, calendar, reports.
        Admin = "管理员",
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
