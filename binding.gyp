{
  "targets": [
    {
      "target_name": "pmda_json",
      "sources": ["native/pmda_json.cc", "native/cache.cc", "native/watch.cc", "native/exec.cc", "native/access.cc", "native/warmlook.cc", "native/query.cc", "native/queryrun.cc", "native/gather.cc", "native/names.cc", "native/memory.cc", "native/indoms.cc", "native/descs.cc", "native/fetch.cc", "native/labels.cc", "native/store.cc", "native/log.cc", "native/constants.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "libraries": ["-lpcp_pmda", "-lpcp", "-lsimdjson"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers"]
    },
    {
      "target_name": "pmdajson-shepherd",
      "type": "executable",
      "sources": ["native/shepherd.cc"],
      "ldflags": ["-static"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers"]
    }
  ]
}
