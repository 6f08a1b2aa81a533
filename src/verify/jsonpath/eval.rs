//! The evaluator: RFC 9535 semantics over `serde_json::Value`, charging every node it looks at
//! (and every [`BYTES_PER_STEP`] bytes of text it compares) to a budget and stopping the moment
//! the budget or the node cap is exceeded, or its caller cancels it, so no query can make it run
//! long or hold much memory, whatever the body.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use super::ast::{Comparable, Logical, Op, Query, Segment, Selector, Start};

/// Which cap a query ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceeded {
    /// A node list (the result or one between two segments) grew past the node cap.
    Nodes,
    /// The steps taken passed the step budget.
    Steps,
    /// The caller set the cancel flag: nobody waits for the answer any more.
    Cancelled,
}

/// How many bytes of two strings compared cost one step. Comparing bytes is far cheaper than a
/// step (about 5 ns for 64 of them, against 100 ns or more for a step in an unoptimised build),
/// so a query comparing long strings runs no longer than one visiting as many nodes; without it,
/// comparing a 60 KB string with itself on each of the steps a budget allows read gigabytes.
pub(crate) const BYTES_PER_STEP: usize = 64;

/// One evaluation's document, caps, spending and cancel flag.
pub(crate) struct Evaluator<'v, 'c> {
    root: &'v Value,
    max_nodes: usize,
    steps_left: u64,
    cancel: &'c AtomicBool,
}

impl<'v, 'c> Evaluator<'v, 'c> {
    /// An evaluator over `root` that lists at most `max_nodes` nodes at once, takes at most
    /// `max_steps` steps, and stops at the step after `cancel` is set.
    pub(crate) fn new(
        root: &'v Value,
        max_nodes: usize,
        max_steps: u64,
        cancel: &'c AtomicBool,
    ) -> Self {
        Self {
            root,
            max_nodes,
            steps_left: max_steps,
            cancel,
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
        self.charge_steps(1)
    }

    /// Charges `steps` at once. The cancel flag is read here, so a cancelled evaluation stops
    /// within one step of any loop, whatever it is doing.
    fn charge_steps(&mut self, steps: u64) -> Result<(), Exceeded> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Exceeded::Cancelled);
        }
        self.steps_left = self.steps_left.checked_sub(steps).ok_or(Exceeded::Steps)?;
        Ok(())
    }

    /// Charges comparing up to `bytes` bytes of text.
    fn charge_text(&mut self, bytes: usize) -> Result<(), Exceeded> {
        let steps = bytes.div_ceil(BYTES_PER_STEP);
        self.charge_steps(u64::try_from(steps).unwrap_or(u64::MAX))
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
            Op::Lt => self.less(left, right)?,
            Op::Gt => self.less(right, left)?,
            Op::Le => self.less(left, right)? || self.equal(left, right)?,
            Op::Ge => self.less(right, left)? || self.equal(left, right)?,
        })
    }

    /// RFC 9535 `<`: numbers by value, strings by their characters; anything else is not less.
    fn less(&mut self, left: Option<&Value>, right: Option<&Value>) -> Result<bool, Exceeded> {
        if let (Some(Value::String(a)), Some(Value::String(b))) = (left, right) {
            // Ordering reads up to the shorter string's length.
            self.charge_text(a.len().min(b.len()))?;
        }
        Ok(is_less(left, right))
    }

    /// RFC 9535 equality: nothing equals nothing, numbers compare by value (1 == 1.0), arrays
    /// and objects compare deeply, one step charged per pair of nodes compared and one more per
    /// [`BYTES_PER_STEP`] bytes of strings and keys compared.
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
                    // Finding the key compares it with a few of ys's keys.
                    self.charge_text(key.len())?;
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
            (Value::String(x), Value::String(y)) => {
                // Strings of different lengths differ at once; equal lengths are read through.
                if x.len() == y.len() {
                    self.charge_text(x.len())?;
                }
                x == y
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
fn is_less(left: Option<&Value>, right: Option<&Value>) -> bool {
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
