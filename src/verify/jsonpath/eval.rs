//! The evaluator: RFC 9535 semantics over `serde_json::Value`, charging every node it looks at
//! to a budget and stopping the moment the budget or the node cap is exceeded, so no query can
//! make it run long or hold much memory, whatever the body.

use serde_json::Value;

use super::ast::{Comparable, Logical, Op, Query, Segment, Selector, Start};

/// Which cap a query ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceeded {
    /// A node list (the result or one between two segments) grew past the node cap.
    Nodes,
    /// The steps taken passed the step budget.
    Steps,
}

/// One evaluation's document, caps and spending.
pub(crate) struct Evaluator<'v> {
    root: &'v Value,
    max_nodes: usize,
    steps_left: u64,
}

impl<'v> Evaluator<'v> {
    /// An evaluator over `root` that lists at most `max_nodes` nodes at once and takes at most
    /// `max_steps` steps.
    pub(crate) fn new(root: &'v Value, max_nodes: usize, max_steps: u64) -> Self {
        Self {
            root,
            max_nodes,
            steps_left: max_steps,
        }
    }

    /// The nodes `query` selects, starting at the root or at `current`.
    pub(crate) fn query(
        &mut self,
        query: &Query,
        current: &'v Value,
    ) -> Result<Vec<&'v Value>, Exceeded> {
        let start = match query.start {
            Start::Root => self.root,
            Start::Current => current,
        };
        let mut nodes = vec![start];
        for segment in &query.segments {
            nodes = self.segment(segment, &nodes)?;
        }
        Ok(nodes)
    }

    fn charge(&mut self) -> Result<(), Exceeded> {
        self.steps_left = self.steps_left.checked_sub(1).ok_or(Exceeded::Steps)?;
        Ok(())
    }

    fn push(&mut self, out: &mut Vec<&'v Value>, node: &'v Value) -> Result<(), Exceeded> {
        self.charge()?;
        if out.len() >= self.max_nodes {
            return Err(Exceeded::Nodes);
        }
        out.push(node);
        Ok(())
    }

    fn segment(
        &mut self,
        segment: &Segment,
        input: &[&'v Value],
    ) -> Result<Vec<&'v Value>, Exceeded> {
        let mut out = Vec::new();
        for &node in input {
            if segment.descendant {
                self.descend(segment, node, &mut out)?;
            } else {
                self.select_all(&segment.selectors, node, &mut out)?;
            }
        }
        Ok(out)
    }

    /// Applies the selectors to `node` and to every descendant, in document order (a node
    /// before its children, array elements in order), with a stack rather than recursion.
    fn descend(
        &mut self,
        segment: &Segment,
        node: &'v Value,
        out: &mut Vec<&'v Value>,
    ) -> Result<(), Exceeded> {
        let mut stack = vec![node];
        while let Some(visited) = stack.pop() {
            self.charge()?;
            self.select_all(&segment.selectors, visited, out)?;
            let before = stack.len();
            for child in children(visited) {
                if matches!(child, Value::Array(_) | Value::Object(_)) {
                    self.charge()?;
                    stack.push(child);
                }
            }
            stack[before..].reverse();
        }
        Ok(())
    }

    fn select_all(
        &mut self,
        selectors: &[Selector],
        node: &'v Value,
        out: &mut Vec<&'v Value>,
    ) -> Result<(), Exceeded> {
        for selector in selectors {
            self.select(selector, node, out)?;
        }
        Ok(())
    }

    fn select(
        &mut self,
        selector: &Selector,
        node: &'v Value,
        out: &mut Vec<&'v Value>,
    ) -> Result<(), Exceeded> {
        match (selector, node) {
            (Selector::Name(name), Value::Object(members)) => {
                if let Some(value) = members.get(name) {
                    self.push(out, value)?;
                }
            }
            (Selector::Wildcard, _) => {
                for child in children(node) {
                    self.push(out, child)?;
                }
            }
            (Selector::Index(index), Value::Array(items)) => {
                if let Some(item) = at(items, *index) {
                    self.push(out, item)?;
                }
            }
            (Selector::Slice { start, end, step }, Value::Array(items)) => {
                for index in slice_indices(items.len(), *start, *end, *step) {
                    if let Some(item) = items.get(index) {
                        self.push(out, item)?;
                    }
                }
            }
            (Selector::Filter(filter), _) => {
                for child in children(node) {
                    self.charge()?;
                    if self.test(filter, child)? {
                        self.push(out, child)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn test(&mut self, expr: &Logical, current: &'v Value) -> Result<bool, Exceeded> {
        match expr {
            Logical::Or(terms) => {
                for term in terms {
                    if self.test(term, current)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Logical::And(terms) => {
                for term in terms {
                    if !self.test(term, current)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Logical::Not(inner) => Ok(!self.test(inner, current)?),
            Logical::Exists(query) => Ok(!self.query(query, current)?.is_empty()),
            Logical::Compare(left, op, right) => {
                let left = self.operand(left, current)?;
                let right = self.operand(right, current)?;
                self.compare(left, *op, right)
            }
        }
    }

    /// A comparison's side: the literal, or the one node a singular query selects, or nothing.
    fn operand<'a>(
        &mut self,
        side: &'a Comparable,
        current: &'v Value,
    ) -> Result<Option<&'a Value>, Exceeded>
    where
        'v: 'a,
    {
        match side {
            Comparable::Literal(value) => Ok(Some(value)),
            Comparable::Singular(query) => Ok(self.query(query, current)?.first().copied()),
        }
    }

    fn compare(
        &mut self,
        left: Option<&Value>,
        op: Op,
        right: Option<&Value>,
    ) -> Result<bool, Exceeded> {
        Ok(match op {
            Op::Eq => self.equal(left, right)?,
            Op::Ne => !self.equal(left, right)?,
            Op::Lt => less(left, right),
            Op::Gt => less(right, left),
            Op::Le => less(left, right) || self.equal(left, right)?,
            Op::Ge => less(right, left) || self.equal(left, right)?,
        })
    }

    /// RFC 9535 equality: nothing equals nothing, numbers compare by value (1 == 1.0), arrays
    /// and objects compare deeply, one step charged per pair of nodes compared.
    fn equal(&mut self, left: Option<&Value>, right: Option<&Value>) -> Result<bool, Exceeded> {
        match (left, right) {
            (None, None) => Ok(true),
            (Some(a), Some(b)) => self.deep_equal(a, b),
            _ => Ok(false),
        }
    }

    fn deep_equal(&mut self, a: &Value, b: &Value) -> Result<bool, Exceeded> {
        self.charge()?;
        Ok(match (a, b) {
            (Value::Number(x), Value::Number(y)) => same_number(x, y),
            (Value::Array(xs), Value::Array(ys)) => {
                if xs.len() != ys.len() {
                    return Ok(false);
                }
                for (x, y) in xs.iter().zip(ys) {
                    if !self.deep_equal(x, y)? {
                        return Ok(false);
                    }
                }
                true
            }
            (Value::Object(xs), Value::Object(ys)) => {
                if xs.len() != ys.len() {
                    return Ok(false);
                }
                for (key, x) in xs {
                    match ys.get(key) {
                        Some(y) if self.deep_equal(x, y)? => {}
                        _ => return Ok(false),
                    }
                }
                true
            }
            (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => {
                false
            }
            (a, b) => a == b,
        })
    }
}

/// The children of an array or object, in order; nothing for a scalar.
fn children(node: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match node {
        Value::Array(items) => Box::new(items.iter()),
        Value::Object(members) => Box::new(members.values()),
        _ => Box::new(std::iter::empty()),
    }
}

/// The element at `index`, negative counting from the end.
fn at(items: &[Value], index: i64) -> Option<&Value> {
    let len = i64::try_from(items.len()).ok()?;
    let index = if index < 0 { len + index } else { index };
    usize::try_from(index).ok().and_then(|i| items.get(i))
}

/// The indexes a slice selects from an array of `len` elements (RFC 9535 §2.3.4.2).
pub(crate) fn slice_indices(
    len: usize,
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
) -> Box<dyn Iterator<Item = usize>> {
    let Ok(len) = i64::try_from(len) else {
        return Box::new(std::iter::empty());
    };
    let step = step.unwrap_or(1);
    let normalize = |i: i64| if i >= 0 { i } else { len + i };
    let indices = move |i: i64| usize::try_from(i).ok();
    if step > 0 {
        let lower = normalize(start.unwrap_or(0)).clamp(0, len);
        let upper = normalize(end.unwrap_or(len)).clamp(0, len);
        let step = usize::try_from(step).unwrap_or(usize::MAX);
        Box::new((lower..upper).step_by(step).filter_map(indices))
    } else if step < 0 {
        let upper = normalize(start.unwrap_or(len - 1)).clamp(-1, len - 1);
        let lower = normalize(end.unwrap_or(-len - 1)).clamp(-1, len - 1);
        let step = usize::try_from(step.unsigned_abs()).unwrap_or(usize::MAX);
        Box::new(
            ((lower + 1)..=upper)
                .rev()
                .step_by(step)
                .filter_map(indices),
        )
    } else {
        Box::new(std::iter::empty())
    }
}

fn same_number(x: &serde_json::Number, y: &serde_json::Number) -> bool {
    match (x.as_i64(), y.as_i64()) {
        (Some(a), Some(b)) => a == b,
        _ => match (x.as_u64(), y.as_u64()) {
            (Some(a), Some(b)) => a == b,
            _ => x.as_f64() == y.as_f64(),
        },
    }
}

/// RFC 9535 `<`: numbers by value, strings by their characters; anything else is not less.
fn less(left: Option<&Value>, right: Option<&Value>) -> bool {
    match (left, right) {
        (Some(Value::Number(a)), Some(Value::Number(b))) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => a < b,
            _ => a.as_f64() < b.as_f64(),
        },
        // UTF-8 byte order is Unicode scalar value order.
        (Some(Value::String(a)), Some(Value::String(b))) => a < b,
        _ => false,
    }
}
