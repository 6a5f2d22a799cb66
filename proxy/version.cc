// placeholder, replaced by the proxy core
