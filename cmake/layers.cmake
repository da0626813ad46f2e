# The dependency rules of ARCHITECTURE.md, as data. Each entry: a folder (a layer) and the folders
# its files may include from, besides its own. A folder's sub-folders belong to it (validate/checks
# is validate) unless listed as a layer of their own (common/base ...). tests/, which may include
# anything, is not listed. cmake/check_layers.cmake checks every source file against this table
# (ctest: layering_test).
set(CM_LAYERS
  "common/base:"
  "common/report:common/base"
  "common/store:common/base"
  "common/chroma:common/store,common/base"
  "common/snapshot:common/store,common/base"
  "common/persist:common/store,common/base"
  "common/run:common/chroma,common/snapshot,common/persist,common/store,common/base"
  "common/cli:common/run,common/chroma,common/snapshot,common/persist,common/store,common/base"
  "checkpoints:common/store,common/base"
  "contracts:common/store,common/base"
  "migrate:contracts,checkpoints,common/cli,common/run,common/chroma,common/snapshot,common/persist,common/store,common/report,common/base"
  "validate:contracts,common/cli,common/run,common/chroma,common/snapshot,common/persist,common/store,common/report,common/base"
  "rollback:checkpoints,common/cli,common/run,common/chroma,common/snapshot,common/persist,common/store,common/report,common/base"
  "tools:common/cli,common/run,common/chroma,common/snapshot,common/persist,common/store,common/base"
  "bench:tools,common/cli,common/run,common/chroma,common/snapshot,common/persist,common/store,common/base"
)
