import Testing
import YAMLLite

@Suite("YAMLLite kubeconfig shapes")
struct KubeconfigShapeTests {
    @Test func kubeLabConfig() throws {
        let text = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: kube-lab
          cluster:
            server: https://127.0.0.1:6443
            certificate-authority-data: LS0tLS1CRUdJTi...
        users:
        - name: admin
          user:
            token: kube-lab-admin-token
        contexts:
        - name: kube-lab-admin
          context: {cluster: kube-lab, user: admin}
        current-context: kube-lab-admin

        """
        let node = try YAML.parse(text)
        let expected: YAMLNode = .mapping([
            ("apiVersion", .plain("v1")),
            ("kind", .plain("Config")),
            ("clusters", .sequence([
                .mapping([
                    ("name", .plain("kube-lab")),
                    ("cluster", .mapping([
                        ("server", .plain("https://127.0.0.1:6443")),
                        ("certificate-authority-data", .plain("LS0tLS1CRUdJTi...")),
                    ])),
                ]),
            ])),
            ("users", .sequence([
                .mapping([
                    ("name", .plain("admin")),
                    ("user", .mapping([("token", .plain("kube-lab-admin-token"))])),
                ]),
            ])),
            ("contexts", .sequence([
                .mapping([
                    ("name", .plain("kube-lab-admin")),
                    ("context", .mapping([("cluster", .plain("kube-lab")), ("user", .plain("admin"))])),
                ]),
            ])),
            ("current-context", .plain("kube-lab-admin")),
        ])
        #expect(node == expected)
    }

    /// The exact layout `kubectl config view --raw` writes.
    @Test func kubectlWrittenConfig() throws {
        let text = """
        apiVersion: v1
        clusters:
        - cluster:
            certificate-authority-data: TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2c9PQ==
            extensions:
            - extension:
                last-update: Mon, 01 Jan 2024 10:00:00 UTC
                provider: minikube.sigs.k8s.io
                version: v1.32.0
              name: cluster_info
            server: https://192.168.49.2:8443
          name: minikube
        - cluster:
            insecure-skip-tls-verify: true
            server: http://localhost:8080
          name: local
        contexts:
        - context:
            cluster: minikube
            namespace: default
            user: minikube
          name: minikube
        current-context: minikube
        kind: Config
        preferences: {}
        users:
        - name: minikube
          user:
            client-certificate: /home/u/.minikube/profiles/minikube/client.crt
            client-key: /home/u/.minikube/profiles/minikube/client.key
        - name: oidc
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1beta1
              args:
              - oidc-login
              - get-token
              command: kubectl
              env: null
              interactiveMode: IfAvailable
              provideClusterInfo: false

        """
        let node = try YAML.parse(text)
        let clusters = try #require(node["clusters"]?.array)
        #expect(clusters.count == 2)
        #expect(clusters[0]["name"]?.string == "minikube")
        #expect(clusters[0]["cluster"]?.keys == ["certificate-authority-data", "extensions", "server"])
        #expect(clusters[0]["cluster"]?["server"]?.string == "https://192.168.49.2:8443")
        #expect(clusters[0]["cluster"]?["extensions"]?[0]?["name"]?.string == "cluster_info")
        #expect(clusters[0]["cluster"]?["extensions"]?[0]?["extension"]?["last-update"]?.string
                == "Mon, 01 Jan 2024 10:00:00 UTC")
        #expect(clusters[1]["cluster"]?["insecure-skip-tls-verify"]?.bool == true)
        #expect(node["contexts"]?[0]?["context"]?["namespace"]?.string == "default")
        #expect(node["preferences"] == .mapping([]))
        #expect(node["users"]?[0]?["user"]?["client-key"]?.string == "/home/u/.minikube/profiles/minikube/client.key")
        #expect(node["users"]?[1]?["user"]?["exec"]?["args"] == .sequence([.plain("oidc-login"), .plain("get-token")]))
        #expect(node["users"]?[1]?["user"]?["exec"]?["env"] == .null)
        #expect(node["users"]?[1]?["user"]?["exec"]?["provideClusterInfo"]?.bool == false)
        #expect(node["current-context"]?.string == "minikube")
    }
}
