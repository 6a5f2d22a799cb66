# One list of a long-form ACL rule (etcd_tlsproxy's `acls`): the word 'any'
# (anyone) or a non-empty list of user names. An empty list is refused: some
# would read it as "nobody", others as "anyone".
type Etcd_tlsproxy::Names = Variant[Enum['any'], Array[String[1], 1]]
