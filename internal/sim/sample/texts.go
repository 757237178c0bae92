package sample

// Portuguese sample texts, with the accents and emoji real conversations carry.
var (
	// CustomerTexts are what customers write (inbound).
	CustomerTexts = []string{
		"Olá! Preciso de ajuda com meu pedido 😊",
		"Qual o prazo de entrega para São Paulo?",
		"Bom dia, meu pedido ainda não chegou",
		"Vocês aceitam Pix?",
		"Gostaria de trocar o tamanho da camiseta, ficou pequena",
		"Obrigado pela atenção! 🙏",
		"O código de rastreio não está funcionando",
		"Posso pagar no boleto?",
		"Boa tarde! Vocês entregam em Belo Horizonte?",
		"Quero cancelar minha assinatura",
		"Recebi o produto com defeito 😞",
		"Qual é o horário de funcionamento da loja?",
		"Vocês têm esse modelo na cor azul?",
		"Já fiz o pagamento, segue o comprovante",
		"Não consigo acessar minha conta, esqueci a senha",
		"Oi, tudo bem? Queria saber sobre a promoção de Black Friday",
		"Ótimo, muito obrigada! ❤️",
		"Quanto custa o frete para Porto Alegre?",
		"A nota fiscal vem junto com o produto?",
		"Tem desconto à vista?",
		"Meu endereço mudou, dá para atualizar antes do envio?",
		"Fiquei sem resposta ontem, alguém pode me ajudar?",
		"Perfeito 👍",
		"Vocês fazem entrega no mesmo dia em Curitiba?",
		"Ainda aguardo o reembolso do pedido cancelado",
	}
	// AgentTexts are what the company's agents and bots write (outbound).
	AgentTexts = []string{
		"Olá! Como posso ajudar?",
		"Olá! Seja bem-vindo(a) à nossa central de atendimento 😊",
		"Poderia me informar o número do pedido, por favor?",
		"Seu pedido foi enviado e chega em até 5 dias úteis.",
		"Aceitamos Pix, cartão de crédito e boleto bancário.",
		"Entendo sua situação, vou verificar com a transportadora.",
		"O prazo de entrega para São Paulo capital é de 2 dias úteis 🚚",
		"Já solicitei a troca, você receberá um e-mail com as instruções.",
		"Nosso horário de atendimento é de segunda a sexta, das 8h às 18h.",
		"Desculpe pela demora! Estamos com um volume alto de mensagens.",
		"O reembolso é processado em até 7 dias após a devolução.",
		"Posso ajudar em algo mais?",
		"Agradecemos o contato! Tenha um ótimo dia ☀️",
		"Vou transferir você para o setor financeiro.",
		"Segue o link para redefinir sua senha.",
		"Temos sim! Está disponível nas cores azul, preta e verde.",
		"Sua assinatura foi cancelada com sucesso.",
		"O frete é grátis para compras acima de R$ 199,00 🎉",
		"Pedimos desculpas pelo transtorno 😔",
		"Confirmado! Atualizei o endereço de entrega.",
	}
	// CaptionTexts go with images, videos and documents.
	CaptionTexts = []string{
		"Segue a foto do produto",
		"Comprovante de pagamento",
		"Nota fiscal em anexo 📄",
		"Olha como chegou a embalagem 😕",
		"Catálogo da coleção de verão",
		"Vídeo mostrando o defeito",
		"Boleto atualizado",
		"Etiqueta de devolução",
	}
)
