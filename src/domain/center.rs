//! The center, its windows and who holds each window's A and B posts (clauses 4.2.3 and 7.6.4).

use serde::{Deserialize, Serialize};

use super::error::Invalid;
use super::labels::labelled;

/// A township convenient service center (乡镇便民服务中心).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Center {
    pub id: String,
    pub name: String,
    pub address: String,
    /// 咨询服务电话, shown at the guidance desk (clause 4.2.2.3 b).
    pub consult_phone: String,
    /// 投诉监督电话.
    pub complaint_phone: String,
}

labelled! { named:
    /// Window kinds of clause 4.2.3.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum WindowKind {
        ComprehensiveAcceptance = "综合受理",
        ComprehensiveDelivery = "综合出件",
        Department = "部门专窗",
        CrossRegion = "跨域通办",
        /// 办不成事反映窗口 (clause 4.2.3.7): the fallback for whatever could not be done elsewhere.
        CannotGetDone = "办不成事反映",
    }
}

labelled! { shown:
    /// The two posts of a window (窗口AB岗).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum Post {
        A = "A岗",
        B = "B岗",
    }
}

/// A service window with its A and B post holders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Window number as shown above the counter, 1-based.
    pub number: u32,
    pub name: String,
    pub kind: WindowKind,
    /// Staff id of the A post holder.
    pub a_holder: String,
    /// Staff id of the B post holder.
    pub b_holder: String,
    /// Queue categories this window calls from (prefix letters, see `ticket`).
    #[serde(default)]
    pub categories: Vec<char>,
}

impl Window {
    pub fn problems(&self) -> Vec<Invalid> {
        let mut out = Vec::new();
        if self.number == 0 {
            out.push(Invalid { field: "number".into(), message: "窗口号从 1 开始".into() });
        }
        if self.name.trim().is_empty() {
            out.push(Invalid { field: "name".into(), message: "不能为空".into() });
        }
        if self.a_holder == self.b_holder {
            out.push(Invalid { field: "b_holder".into(), message: "A岗与B岗不能是同一人".into() });
        }
        out
    }

    /// Which post, if any, the staff member holds at this window.
    pub fn post_of(&self, staff_id: &str) -> Option<Post> {
        if self.a_holder == staff_id {
            Some(Post::A)
        } else if self.b_holder == staff_id {
            Some(Post::B)
        } else {
            None
        }
    }
}
