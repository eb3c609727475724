//! Generated service-guide catalogues for the benches (`search`, `budgets`), made from the 91
//! bundled sample guides: about half keep a sample's name (some with a township in brackets), the
//! rest get a synthesized name from an object and an action ("生猪养殖场备案", "白河镇民宿许可");
//! every guide moves to one of 120 townships (department, place and conditions mention it) and
//! gets materials drawn from a pool, so the text is not a hundred copies of the same thing.
//! Deterministic: the same seed makes the same catalogue.

#![allow(dead_code)]

use bianmin::domain::guide::{Material, MaterialForm, ServiceGuide};

pub const PLACE_STEMS: [&str; 40] = [
    "青石", "白河", "柳林", "马家", "龙泉", "高桥", "东湖", "西岭", "南山", "北塘", "石门", "枫树", "桃园", "杨柳",
    "梅溪", "竹园", "金沙", "银湖", "黄土", "红星", "新华", "永安", "太平", "长乐", "万福", "双河", "三里", "五峰",
    "七星", "九龙", "沙洋", "荆河", "观音", "凤凰", "麒麟", "清水", "大堰", "小港", "罗场", "熊口",
];
pub const PLACE_KINDS: [&str; 3] = ["镇", "乡", "街道"];
pub const OBJECTS: [&str; 50] = [
    "渔船",
    "生猪养殖场",
    "茶叶加工厂",
    "农家乐",
    "民宿",
    "药店",
    "诊所",
    "网吧",
    "加油站",
    "粮食收购",
    "种子经营",
    "农药经营",
    "兽药经营",
    "饲料生产",
    "水产养殖",
    "林下经济",
    "竹木加工",
    "砖瓦窑",
    "小作坊",
    "食品摊贩",
    "理发店",
    "超市",
    "快递网点",
    "出租汽车",
    "校车",
    "幼儿园",
    "养老机构",
    "托育机构",
    "文化站",
    "体育场地",
    "广告招牌",
    "临时占道",
    "户外广告",
    "燃气经营",
    "烟花爆竹",
    "道路运输",
    "货车",
    "电动自行车",
    "船舶",
    "水井",
    "灌溉渠道",
    "河道采砂",
    "取水",
    "排水",
    "公共厕所",
    "垃圾清运",
    "公益性墓地",
    "宗教活动场所",
    "劳务派遣",
    "人力资源服务",
];
pub const ACTIONS: [&str; 18] = [
    "许可",
    "备案",
    "登记",
    "审批",
    "变更",
    "注销",
    "延续",
    "补办",
    "年度报告",
    "证明开具",
    "补贴申领",
    "资格认定",
    "验收",
    "检查",
    "核准",
    "换证",
    "申报",
    "查询",
];
pub const MATERIAL_POOL: [&str; 30] = [
    "营业执照副本",
    "房屋租赁合同",
    "消防安全检查合格证明",
    "环境影响评价批复文件",
    "场地平面图",
    "从业人员健康证明",
    "安全生产管理制度",
    "法定代表人身份证明",
    "土地使用权证明",
    "村民委员会意见",
    "卫生许可证",
    "船舶检验证书",
    "车辆行驶证",
    "驾驶员从业资格证",
    "设备清单",
    "技术人员资格证书",
    "收购台账",
    "产品质量检验报告",
    "排水许可申请表",
    "取水许可申请书",
    "施工方案",
    "应急预案",
    "承诺书",
    "经营场所照片",
    "原许可证件",
    "年度经营情况报告",
    "补贴申请表",
    "银行开户许可证",
    "租地协议",
    "污水处理协议",
];

/// A small deterministic generator (xorshift), so every run measures the same catalogue.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

pub fn places() -> Vec<String> {
    PLACE_STEMS.iter().flat_map(|s| PLACE_KINDS.iter().map(move |k| format!("{s}{k}"))).collect()
}

fn relocate(text: &mut String, place: &str) {
    if text.contains("青石镇") {
        *text = text.replace("青石镇", place);
    } else if text.contains("青石") {
        *text = text.replace("青石", &place[..place.len() - 3]);
    }
}

pub fn generate(samples: &[ServiceGuide], n: usize, seed: u64) -> Vec<ServiceGuide> {
    let mut rng = Rng(seed);
    let places = places();
    (0..n)
        .map(|i| {
            let mut g = rng.pick(samples).clone();
            let place = rng.pick(&places).clone();
            g.code = format!("GEN-{i:06}");
            if rng.chance(45) {
                if rng.chance(30) {
                    g.name = format!("{}（{place}）", g.name);
                }
            } else {
                let object = *rng.pick(&OBJECTS);
                let action = *rng.pick(&ACTIONS);
                g.name = if rng.chance(25) { format!("{place}{object}{action}") } else { format!("{object}{action}") };
                g.aliases = vec![format!("办{object}{action}"), format!("{object}手续")];
                g.keywords = vec![object.to_owned(), action.to_owned()];
                g.keywords.extend(g.keywords.clone().into_iter().take(rng.below(2)));
            }
            for _ in 0..rng.below(4) {
                let name = (*rng.pick(&MATERIAL_POOL)).to_owned();
                g.materials.push(Material {
                    id: format!("x{}", g.materials.len()),
                    name,
                    form: MaterialForm::Copy,
                    copies: 1,
                    condition: None,
                    source: "申请人自备".to_owned(),
                    notes: String::new(),
                    blank_form: None,
                    sample_form: None,
                    deferral_days: None,
                });
            }
            relocate(&mut g.department, &place);
            relocate(&mut g.location, &place);
            for c in &mut g.acceptance_conditions {
                relocate(c, &place);
            }
            for p in &mut g.process {
                relocate(&mut p.description, &place);
            }
            g
        })
        .collect()
}
