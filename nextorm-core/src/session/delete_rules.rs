//! Delete rules in the session: deleting an object cascades to, clears the reference of, or is
//! refused by the objects of the identity map that refer to it, as the database does for rows
//! the session does not hold.

use super::fast_map::FastSet;
use super::identity::IdentityMap;
use crate::error::{Error, ErrorKind, Result};

impl IdentityMap {
    /// Applies the delete rules to the objects that refer to objects marked for deletion:
    /// cascade marks them too, set null clears the reference, restrict refuses
    /// ([`ErrorKind::ForeignKeyViolation`]). The database applies the same rules to rows the
    /// session does not hold.
    pub fn apply_delete_rules(&self) -> Result<()> {
        let mut queue: Vec<usize> = (0..self.objects.len()).filter(|&i| self.objects[i].is_deleting()).collect();
        let mut done = FastSet::default();
        while let Some(p) = queue.pop() {
            if !done.insert(p) {
                continue;
            }
            let parent = &self.objects[p];
            let parent_meta = parent.meta();
            let key = self.key_values(p)?;
            let [key] = key.as_slice() else { continue };
            for (i, child) in self.objects.iter().enumerate() {
                for (relation, column) in child.meta().references() {
                    if !std::ptr::eq((relation.target)(), parent_meta)
                        || !child.live()
                        || child.column_value(column).ok().as_ref() != Some(key)
                    {
                        continue;
                    }
                    match relation.on_delete(child.meta()) {
                        crate::ast::OnDelete::Cascade => {
                            child.mark_deleted()?;
                            queue.push(i);
                        }
                        crate::ast::OnDelete::SetNull => child.set_null(column)?,
                        crate::ast::OnDelete::Restrict => {
                            return Err(Error::new(
                                ErrorKind::ForeignKeyViolation,
                                format!(
                                    "{} cannot be deleted: {}.{} refers to it (cascade_delete = false)",
                                    parent_meta.describe_key(std::slice::from_ref(key)),
                                    child.meta().name,
                                    relation.field
                                ),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
