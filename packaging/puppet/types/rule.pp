# One value of etcd_tlsproxy's `acls`: the short form, a list of writers
# ([] lets anyone write), or the long form { write => ..., read => ... }
# with `read` optional (omitted: reads as for the short form).
type Etcd_tlsproxy::Rule = Variant[
  Array[String[1]],
  Struct[{
    write          => Etcd_tlsproxy::Names,
    Optional[read] => Etcd_tlsproxy::Names,
  }],
]
