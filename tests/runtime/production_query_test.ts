/**
 * The service's object-form queries: a repeated shape reuses what was built and checked for its
 * first query, and must give the very AST (and the very errors) of the full path.
 */
import assert from "node:assert/strict";
import { buildProductionQuery, EntityNamespaceManager, type ProductionQuery } from "../../mod.ts";
import { productionQueryAst } from "../../src/runtime/production_query.ts";
import { isCode } from "./helpers.ts";

const ITEMS = {
  fields: {
    id: { type: "integer", primaryKey: true },
    name: { type: "string", maxLength: 5 },
    active: { type: "boolean" },
    price: { type: "decimal", precision: 10, scale: 2 },
    weight: { type: "number" },
    at: { type: "datetime" },
    tags: { type: "json" },
  },
} as const;

async function withModel(
  fn: (model: Parameters<typeof buildProductionQuery>[0]) => void,
): Promise<void> {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("shapes", {
    provider: { type: "sqlite", filePath: ":memory:" },
    entities: { items: ITEMS },
  });
  try {
    fn(ns.getEntity("items"));
  } finally {
    await manager.close();
  }
}

// Each shape twice with other values: the first builds the shape, the second fills it in.
const QUERIES: [ProductionQuery, ProductionQuery][] = [
  [{ where: { id: 7 } }, { where: { id: 8 } }],
  [{ where: { id: 0 } }, { where: { id: -0 } }],
  [{ where: { id: 1 } }, { where: { id: "12" } }], // text coerced as where() does
  [{ where: { id: 1, active: true } }, { where: { id: 2, active: false } }],
  [{ where: { active: true, id: 1 } }, { where: { active: 1, id: 3 } }], // other order: own shape
  [{ where: { name: "abc" } }, { where: { name: "longer than five" } }], // filters allow any length
  [{ where: { name: null } }, { where: { name: "x" } }],
  [{ where: { price: "1.50" } }, { where: { price: 2 } }],
  [{ where: { weight: 1.5 } }, { where: { weight: 2 } }],
  [{ where: { at: "2024-01-02" } }, { where: { at: new Date(0) } }],
  [{ where: { active: true }, orderBy: "name", limit: 20 }, {
    where: { active: false },
    orderBy: "name",
    limit: 3,
  }],
  [{ orderBy: "name desc", offset: 2, limit: 1, count: true }, {
    orderBy: "name desc",
    offset: 0,
    limit: 0,
    count: true,
  }],
  [{ select: ["id", "name"], where: { id: 1 } }, { select: ["id", "name"], where: { id: 2 } }],
  [{ select: "id", limit: 1 }, { select: "id", limit: 2, count: false }],
  [{ where: {} }, { where: {}, limit: undefined }],
  [{ where: { id: 1 }, filter: "active eq true" }, { where: { id: 2 }, filter: "id gt 1" }],
];

Deno.test("productionQueryAst: a repeated shape gives the full path's AST", async () => {
  await withModel((model) => {
    for (const pair of QUERIES) {
      for (const query of [...pair, ...pair]) {
        assert.deepEqual(
          productionQueryAst(model, query),
          buildProductionQuery(model, query).ast,
          JSON.stringify(query),
        );
      }
    }
    // The second query of a shape was filled in: it shares the shape's field node.
    const left = (query: ProductionQuery) =>
      (productionQueryAst(model, query).filter as { left?: unknown }).left;
    assert.equal(left({ where: { id: 9 } }), left({ where: { id: 10 } }));
  });
});

Deno.test("productionQueryAst: bad values on a known shape fail as on the full path", async () => {
  await withModel((model) => {
    const known: ProductionQuery = { where: { id: 1, tags: 1 }, limit: 5, orderBy: "name" };
    assert.throws(() => productionQueryAst(model, known), isCode("INVALID_OPERATOR")); // json
    productionQueryAst(model, { where: { id: 1 }, limit: 5, orderBy: "name" });
    const cases: [ProductionQuery, string][] = [
      [{ where: { id: undefined }, limit: 5, orderBy: "name" }, "INVALID_ARGUMENT"],
      [{ where: { id: "abc" }, limit: 5, orderBy: "name" }, "TYPE_MISMATCH"],
      [{ where: { id: 1.5 }, limit: 5, orderBy: "name" }, "TYPE_MISMATCH"],
      [{ where: { id: 2 ** 60 }, limit: 5, orderBy: "name" }, "TYPE_MISMATCH"],
      [{ where: { id: 1 }, limit: -1, orderBy: "name" }, "INVALID_ARGUMENT"],
      [{ where: { id: 1 }, limit: 1.5, orderBy: "name" }, "INVALID_ARGUMENT"],
      [{ where: { id: 1 }, limit: 5, orderBy: "nmae" }, "UNKNOWN_FIELD"],
      [{ where: { id: 1 }, limit: 5, orderBy: "name", lmit: 1 } as never, "INVALID_ARGUMENT"],
    ];
    for (const [query, code] of cases) {
      assert.throws(() => productionQueryAst(model, query), isCode(code), JSON.stringify(query));
    }
    // An array means `in`, on the full path.
    const list = { where: { id: [1, 2] }, limit: 5, orderBy: "name" };
    assert.deepEqual(productionQueryAst(model, list), buildProductionQuery(model, list).ast);
  });
});
