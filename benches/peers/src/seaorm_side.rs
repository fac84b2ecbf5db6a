//! SeaORM on its own sqlx pool, written as SeaORM's guide writes it: `find_by_id`, `find().all`,
//! `insert_many` in a transaction, and `load_many` (its loader) for the tree. Each call is driven
//! by `block_on`, as nextorm's async facade is.

use crate::common_bench::BoxResult;
use crate::data::{NEW_USERS, TREE_USERS, inserted, new_user, user_id};
use crate::{Checksum, Library, Workload};
use sea_orm::{
    ActiveValue, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, EntityTrait,
    LoaderTrait, QueryFilter, TransactionTrait,
};
use tokio::runtime::Runtime;

mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub name: String,
        pub hair_color: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(has_many = "super::post::Entity")]
        Post,
    }

    impl Related<super::post::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Post.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

mod post {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "posts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub author: i64,
        pub title: String,
        pub body: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(belongs_to = "super::user::Entity", from = "Column::Author", to = "super::user::Column::Id")]
        User,
        #[sea_orm(has_many = "super::comment::Entity")]
        Comment,
    }

    impl Related<super::user::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::User.def()
        }
    }

    impl Related<super::comment::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Comment.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

mod comment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "comments")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub post: i64,
        pub text: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(belongs_to = "super::post::Entity", from = "Column::Post", to = "super::post::Column::Id")]
        Post,
    }

    impl Related<super::post::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Post.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// SeaORM's `DatabaseConnection`.
pub(crate) struct SeaOrm(DatabaseConnection);

impl SeaOrm {
    pub(crate) fn open(rt: &Runtime, url: &str) -> BoxResult<SeaOrm> {
        let mut options = ConnectOptions::new(url);
        options.sqlx_logging(false);
        let sqlite = url.starts_with("sqlite");
        if sqlite {
            // One connection, so that the pragma below holds for every statement.
            options.max_connections(1).min_connections(1);
        }
        let db = rt.block_on(Database::connect(options))?;
        if sqlite {
            // What nextorm's SQLite connections run with.
            rt.block_on(db.execute_unprepared("PRAGMA synchronous = NORMAL"))?;
        }
        Ok(SeaOrm(db))
    }

    async fn tree(&self) -> Result<Checksum, DbErr> {
        let db = &self.0;
        let users = user::Entity::find().filter(user::Column::Id.lte(TREE_USERS)).all(db).await?;
        let posts = users.load_many(post::Entity, db).await?;
        let flat: Vec<post::Model> = posts.iter().flatten().cloned().collect();
        let comments = flat.load_many(comment::Entity, db).await?;
        let (mut count, mut bytes) = (0, 0);
        let mut comments = comments.into_iter();
        for (u, posts) in users.iter().zip(&posts) {
            bytes += u.name.len();
            for p in posts {
                bytes += p.title.len();
                let cs = comments.next().unwrap_or_default();
                count += cs.len();
                bytes += cs.iter().map(|c| c.text.len()).sum::<usize>();
            }
        }
        Ok((count, bytes))
    }
}

impl Library for SeaOrm {
    fn name(&self) -> &'static str {
        "SeaORM"
    }

    fn run(&mut self, rt: &Runtime, workload: Workload, n: usize) -> Option<BoxResult<Checksum>> {
        let db = &self.0;
        let out: Result<Checksum, DbErr> = match workload {
            Workload::OneUser => rt.block_on(async {
                let u = user::Entity::find_by_id(user_id(n)).one(db).await?;
                let u = u.ok_or_else(|| DbErr::RecordNotFound(format!("user {}", user_id(n))))?;
                Ok((1, u.name.len()))
            }),
            Workload::AllUsers => rt.block_on(async {
                let users = user::Entity::find().all(db).await?;
                Ok((users.len(), users.iter().map(|u| u.name.len()).sum()))
            }),
            Workload::Insert100 => rt.block_on(async {
                let rows = (0..NEW_USERS).map(|k| {
                    let (name, hair_color) = new_user(k);
                    user::ActiveModel {
                        name: ActiveValue::Set(name),
                        hair_color: ActiveValue::Set(hair_color),
                        ..Default::default()
                    }
                });
                let tx = db.begin().await?;
                user::Entity::insert_many(rows).exec(&tx).await?;
                tx.commit().await?;
                Ok(inserted())
            }),
            Workload::TreePrefetched => rt.block_on(self.tree()),
            Workload::TreeLazy => return None,
        };
        Some(out.map_err(Into::into))
    }
}
