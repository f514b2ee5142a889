import { conformanceSuite } from "./conformance.ts";
import { openNorthwind } from "../fixtures/northwind.ts";

// SQLite has no known gaps.
conformanceSuite("sqlite (file)", () => openNorthwind());
conformanceSuite("sqlite (:memory:)", () => openNorthwind({ memory: true }));
